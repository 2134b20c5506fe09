import { DataTypes, type QueryInterface } from "sequelize";

const id = { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true };
const tenantRef = { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" };
const timestamps = {
  created_at: { type: DataTypes.DATE, allowNull: false },
  updated_at: { type: DataTypes.DATE, allowNull: false },
};

/**
 * The build engine: builds and their steps, step logs (chunks by byte offset), the lease queue, the commit-status
 * outbox, the processor's decisions per delivery, and runner tokens.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  // Build numbers per application come from this counter, incremented in the transaction that creates the build.
  // Plain SQL: sequelize's addColumn qualifies the table with "public." on Postgres, ignoring the search_path.
  await qi.sequelize.query("ALTER TABLE applications ADD COLUMN build_counter INTEGER NOT NULL DEFAULT 0");
  await qi.createTable("builds", {
    id,
    tenant_id: tenantRef,
    application_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "applications", key: "id" }, onDelete: "CASCADE" },
    number: { type: DataTypes.INTEGER, allowNull: false },
    build_key: { type: DataTypes.STRING(512), allowNull: false },
    trigger: { type: DataTypes.STRING(16), allowNull: false },
    ref_type: { type: DataTypes.STRING(16), allowNull: false },
    ref_name: { type: DataTypes.STRING(255), allowNull: false },
    commit: { type: DataTypes.STRING(40), allowNull: false },
    pull_request_id: { type: DataTypes.INTEGER, allowNull: true },
    destination_branch: { type: DataTypes.STRING(255), allowNull: true },
    pipeline_name: { type: DataTypes.STRING(300), allowNull: false },
    pipeline_key: { type: DataTypes.STRING(300), allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    state_reason: { type: DataTypes.TEXT, allowNull: true },
    plan: { type: DataTypes.TEXT, allowNull: true },
    warnings: { type: DataTypes.TEXT, allowNull: true },
    variables: { type: DataTypes.TEXT, allowNull: true },
    base_commit: { type: DataTypes.STRING(40), allowNull: true },
    delivery_id: { type: DataTypes.INTEGER, allowNull: true, references: { model: "deliveries", key: "id" }, onDelete: "SET NULL" },
    rerun_of: { type: DataTypes.INTEGER, allowNull: true },
    retries: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    started_at: { type: DataTypes.DATE, allowNull: true },
    finished_at: { type: DataTypes.DATE, allowNull: true },
    ...timestamps,
  });
  await qi.addIndex("builds", ["tenant_id", "build_key"], { unique: true, name: "builds_tenant_key_unique" });
  await qi.addIndex("builds", ["application_id", "number"], { unique: true, name: "builds_application_number_unique" });
  await qi.addIndex("builds", ["application_id", "ref_type", "ref_name", "id"], { name: "builds_application_ref" });
  await qi.addIndex("builds", ["application_id", "state", "id"], { name: "builds_application_state" });

  await qi.createTable("steps", {
    id,
    tenant_id: tenantRef,
    build_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "builds", key: "id" }, onDelete: "CASCADE" },
    index: { type: DataTypes.INTEGER, allowNull: false },
    name: { type: DataTypes.STRING(300), allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    manual: { type: DataTypes.BOOLEAN, allowNull: false },
    deployment: { type: DataTypes.STRING(255), allowNull: true },
    exit_code: { type: DataTypes.INTEGER, allowNull: true },
    log_bytes: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    started_at: { type: DataTypes.DATE, allowNull: true },
    finished_at: { type: DataTypes.DATE, allowNull: true },
    ...timestamps,
  });
  await qi.addIndex("steps", ["build_id", "index"], { unique: true, name: "steps_build_index_unique" });

  await qi.createTable("log_chunks", {
    id,
    step_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "steps", key: "id" }, onDelete: "CASCADE" },
    offset: { type: DataTypes.INTEGER, allowNull: false },
    data: { type: DataTypes.BLOB, allowNull: false },
  });
  await qi.addIndex("log_chunks", ["step_id", "offset"], { unique: true, name: "log_chunks_step_offset_unique" });

  await qi.createTable("jobs", {
    id,
    tenant_id: tenantRef,
    build_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "builds", key: "id" }, onDelete: "CASCADE" },
    start_step: { type: DataTypes.INTEGER, allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    lease_owner: { type: DataTypes.STRING(128), allowNull: true },
    lease_token: { type: DataTypes.STRING(64), allowNull: true },
    lease_expires_at: { type: DataTypes.DATE, allowNull: true },
    attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    ...timestamps,
  });
  await qi.addIndex("jobs", ["state", "id"], { name: "jobs_state_id" });
  await qi.addIndex("jobs", ["build_id"], { name: "jobs_build" });

  await qi.createTable("status_outbox", {
    id,
    tenant_id: tenantRef,
    build_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "builds", key: "id" }, onDelete: "CASCADE" },
    repository: { type: DataTypes.STRING(255), allowNull: false },
    commit: { type: DataTypes.STRING(40), allowNull: false },
    key: { type: DataTypes.STRING(40), allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    name: { type: DataTypes.STRING(255), allowNull: false },
    description: { type: DataTypes.STRING(1024), allowNull: false },
    url: { type: DataTypes.STRING(1024), allowNull: false },
    refname: { type: DataTypes.STRING(255), allowNull: true },
    status: { type: DataTypes.STRING(16), allowNull: false },
    attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    next_attempt_at: { type: DataTypes.DATE, allowNull: false },
    last_error: { type: DataTypes.TEXT, allowNull: true },
    ...timestamps,
  });
  await qi.addIndex("status_outbox", ["status", "next_attempt_at"], { name: "status_outbox_due" });
  await qi.addIndex("status_outbox", ["tenant_id", "commit", "key", "id"], { name: "status_outbox_commit_key" });

  await qi.createTable("decisions", {
    id,
    tenant_id: tenantRef,
    delivery_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "deliveries", key: "id" }, onDelete: "CASCADE" },
    application_id: { type: DataTypes.INTEGER, allowNull: true, references: { model: "applications", key: "id" }, onDelete: "SET NULL" },
    repository: { type: DataTypes.STRING(255), allowNull: true },
    event: { type: DataTypes.STRING(64), allowNull: false },
    ref: { type: DataTypes.STRING(300), allowNull: true },
    commit: { type: DataTypes.STRING(40), allowNull: true },
    outcome: { type: DataTypes.STRING(32), allowNull: false },
    reason: { type: DataTypes.TEXT, allowNull: false },
    build_id: { type: DataTypes.INTEGER, allowNull: true, references: { model: "builds", key: "id" }, onDelete: "SET NULL" },
    created_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("decisions", ["delivery_id"], { name: "decisions_delivery" });
  await qi.addIndex("decisions", ["application_id", "id"], { name: "decisions_application" });

  await qi.createTable("runners", {
    id,
    name: { type: DataTypes.STRING(128), allowNull: false },
    token_hash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
    last_seen_at: { type: DataTypes.DATE, allowNull: true },
    ...timestamps,
  });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  for (const table of ["runners", "decisions", "status_outbox", "jobs", "log_chunks", "steps", "builds"]) await qi.dropTable(table);
  await qi.sequelize.query("ALTER TABLE applications DROP COLUMN build_counter");
}
