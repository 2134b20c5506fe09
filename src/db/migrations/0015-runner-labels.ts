import type { QueryInterface } from "sequelize";

/**
 * Runner labels (`runs-on`): what each runner announced of itself — its labels, version and slots, and whether it is
 * a remote runner (a token) or the one inside a web process — and the labels each queued job needs (a JSON list,
 * sorted; NULL when it needs none), which a claim compares with the claiming runner's labels; and an index for the
 * claim's count of a tenant's leased jobs.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  // Plain SQL: sequelize's addColumn qualifies the table with "public." on Postgres, ignoring the search_path.
  await qi.sequelize.query("ALTER TABLE runners ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'remote'");
  await qi.sequelize.query("ALTER TABLE runners ADD COLUMN labels TEXT");
  await qi.sequelize.query("ALTER TABLE runners ADD COLUMN version VARCHAR(64)");
  await qi.sequelize.query("ALTER TABLE runners ADD COLUMN slots INTEGER");
  await qi.sequelize.query("ALTER TABLE jobs ADD COLUMN runs_on TEXT");
  // A claim counts each tenant's leased jobs: by index, not by a scan of every leased job.
  await qi.addIndex("jobs", ["tenant_id", "state"], { name: "jobs_tenant_state" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.removeIndex("jobs", "jobs_tenant_state");
  await qi.sequelize.query("ALTER TABLE jobs DROP COLUMN runs_on");
  await qi.sequelize.query("ALTER TABLE runners DROP COLUMN slots");
  await qi.sequelize.query("ALTER TABLE runners DROP COLUMN version");
  await qi.sequelize.query("ALTER TABLE runners DROP COLUMN labels");
  await qi.sequelize.query("ALTER TABLE runners DROP COLUMN kind");
}
