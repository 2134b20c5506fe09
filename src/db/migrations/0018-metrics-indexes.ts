import type { QueryInterface } from "sequelize";

/** /metrics counts builds by state at every scrape: an index on the state makes that an index scan, not a table scan. */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.addIndex("builds", ["state"], { name: "builds_state" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.removeIndex("builds", "builds_state");
}
