import type { QueryInterface } from "sequelize";

/**
 * /metrics counts builds by state at every scrape: an index on the state makes that an index scan, not a table scan.
 * A branch's badge (on the builds page too) asks whether a build of the branch is under way: without the state in
 * the branch's index that question read every build of the branch (100,000 on a busy main).
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.addIndex("builds", ["state"], { name: "builds_state" });
  await qi.addIndex("builds", ["application_id", "ref_type", "ref_name", "state"], { name: "builds_application_ref_state" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.removeIndex("builds", "builds_application_ref_state");
  await qi.removeIndex("builds", "builds_state");
}
