import type { QueryInterface } from "sequelize";

/**
 * A step remembers how it was isolated and where it ran (`sandbox`, `container` or `host`, and the runner's name),
 * so its page can say when a step ran without isolation, and on which runner.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  // Plain SQL: sequelize's addColumn qualifies the table with "public." on Postgres, ignoring the search_path.
  await qi.sequelize.query("ALTER TABLE steps ADD COLUMN executor VARCHAR(16)");
  await qi.sequelize.query("ALTER TABLE steps ADD COLUMN runner_name VARCHAR(300)");
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.sequelize.query("ALTER TABLE steps DROP COLUMN runner_name");
  await qi.sequelize.query("ALTER TABLE steps DROP COLUMN executor");
}
