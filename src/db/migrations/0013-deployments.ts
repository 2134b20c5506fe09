import { DataTypes, QueryTypes, type QueryInterface } from "sequelize";

const id = { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true };
const tenantRef = { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" };
const applicationRef = { type: DataTypes.INTEGER, allowNull: false, references: { model: "applications", key: "id" }, onDelete: "CASCADE" };
const timestamps = {
  created_at: { type: DataTypes.DATE, allowNull: false },
  updated_at: { type: DataTypes.DATE, allowNull: false },
};

/** Every application starts with these, in this order (Bitbucket's defaults). */
const DEFAULTS = [
  { name: "Test", type: "test" },
  { name: "Staging", type: "staging" },
  { name: "Production", type: "production" },
];

/**
 * Continuous deployment and scheduled pipelines:
 * - `environments` of an application (name unique per application, case-insensitively through `name_key`), their
 *   restrictions (`branches`: JSON globs, null = any; `admins_only`) and `environment_variables` (values sealed);
 * - `deployments`: one row per deployment step run (or refused), the history of an environment;
 * - `step_locks`: what a deployment step or a `concurrency-group` step holds or waits for. At most one `held` row
 *   per (application, key) — a partial unique index, so two processes can never both hold an environment;
 * - `schedules`: cron schedules that start a branch's pipeline or a custom one; `next_run_at` is advanced with a
 *   conditional UPDATE, so one process fires each tick;
 * - `oauth_sessions` keeps the signed-in person's own Bitbucket grant (sealed), to ask Bitbucket whether that person
 *   administers a repository.
 * Existing applications get the three default environments.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("environments", {
    id,
    tenant_id: tenantRef,
    application_id: applicationRef,
    name: { type: DataTypes.STRING(255), allowNull: false },
    name_key: { type: DataTypes.STRING(255), allowNull: false },
    type: { type: DataTypes.STRING(16), allowNull: false },
    rank: { type: DataTypes.INTEGER, allowNull: false },
    branches: { type: DataTypes.TEXT, allowNull: true },
    admins_only: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    ...timestamps,
  });
  await qi.addIndex("environments", ["application_id", "name_key"], { unique: true, name: "environments_application_name_unique" });

  await qi.createTable("environment_variables", {
    id,
    tenant_id: tenantRef,
    environment_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "environments", key: "id" }, onDelete: "CASCADE" },
    name: { type: DataTypes.STRING(128), allowNull: false },
    value: { type: DataTypes.TEXT, allowNull: false },
    secured: { type: DataTypes.BOOLEAN, allowNull: false },
    ...timestamps,
  });
  await qi.addIndex("environment_variables", ["environment_id", "name"], { unique: true, name: "environment_variables_environment_name_unique" });

  await qi.createTable("deployments", {
    id,
    tenant_id: tenantRef,
    application_id: applicationRef,
    environment_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "environments", key: "id" }, onDelete: "CASCADE" },
    build_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "builds", key: "id" }, onDelete: "CASCADE" },
    step_index: { type: DataTypes.INTEGER, allowNull: false },
    commit: { type: DataTypes.STRING(40), allowNull: false },
    ref_type: { type: DataTypes.STRING(16), allowNull: false },
    ref_name: { type: DataTypes.STRING(255), allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    reason: { type: DataTypes.TEXT, allowNull: true },
    started_by: { type: DataTypes.STRING(255), allowNull: true },
    admin_approved: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    started_at: { type: DataTypes.DATE, allowNull: true },
    finished_at: { type: DataTypes.DATE, allowNull: true },
    commits_since_previous: { type: DataTypes.INTEGER, allowNull: true },
    ...timestamps,
  });
  await qi.addIndex("deployments", ["environment_id", "id"], { name: "deployments_environment" });
  await qi.addIndex("deployments", ["build_id", "step_index"], { name: "deployments_build_step" });

  await qi.createTable("step_locks", {
    id,
    tenant_id: tenantRef,
    application_id: applicationRef,
    build_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "builds", key: "id" }, onDelete: "CASCADE" },
    step_index: { type: DataTypes.INTEGER, allowNull: false },
    lock_key: { type: DataTypes.STRING(300), allowNull: false },
    label: { type: DataTypes.STRING(300), allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("step_locks", ["application_id", "lock_key"], { unique: true, name: "step_locks_one_holder", where: { state: "held" } });
  await qi.addIndex("step_locks", ["application_id", "state", "id"], { name: "step_locks_application_state" });
  await qi.addIndex("step_locks", ["build_id", "step_index"], { name: "step_locks_build_step" });

  await qi.createTable("schedules", {
    id,
    tenant_id: tenantRef,
    application_id: applicationRef,
    branch: { type: DataTypes.STRING(255), allowNull: false },
    pipeline: { type: DataTypes.STRING(300), allowNull: true },
    cron: { type: DataTypes.STRING(128), allowNull: false },
    timezone: { type: DataTypes.STRING(64), allowNull: false },
    enabled: { type: DataTypes.BOOLEAN, allowNull: false },
    next_run_at: { type: DataTypes.DATE, allowNull: true },
    last_run_at: { type: DataTypes.DATE, allowNull: true },
    last_build_id: { type: DataTypes.INTEGER, allowNull: true, references: { model: "builds", key: "id" }, onDelete: "SET NULL" },
    last_error: { type: DataTypes.TEXT, allowNull: true },
    ...timestamps,
  });
  await qi.addIndex("schedules", ["enabled", "next_run_at"], { name: "schedules_due" });
  await qi.addIndex("schedules", ["application_id", "id"], { name: "schedules_application" });

  // Plain SQL: sequelize's addColumn qualifies the table with "public." on Postgres, ignoring the search_path.
  await qi.sequelize.query("ALTER TABLE oauth_sessions ADD COLUMN user_access_token TEXT");
  await qi.sequelize.query("ALTER TABLE oauth_sessions ADD COLUMN user_refresh_token TEXT");
  await qi.sequelize.query(`ALTER TABLE oauth_sessions ADD COLUMN user_token_expires_at ${qi.sequelize.getDialect() === "postgres" ? "TIMESTAMP WITH TIME ZONE" : "DATETIME"}`);

  const apps = await qi.sequelize.query<{ id: number; tenant_id: number }>("SELECT id, tenant_id FROM applications", { type: QueryTypes.SELECT });
  const now = new Date();
  const rows = apps.flatMap((a) =>
    DEFAULTS.map((d, rank) => ({ tenant_id: a.tenant_id, application_id: a.id, name: d.name, name_key: d.name.toLowerCase(), type: d.type, rank, branches: null, admins_only: false, created_at: now, updated_at: now })),
  );
  if (rows.length) await qi.bulkInsert("environments", rows);
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  for (const column of ["user_access_token", "user_refresh_token", "user_token_expires_at"]) await qi.sequelize.query(`ALTER TABLE oauth_sessions DROP COLUMN ${column}`);
  for (const table of ["schedules", "step_locks", "deployments", "environment_variables", "environments"]) await qi.dropTable(table);
}
