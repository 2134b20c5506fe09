import type { QueryInterface } from "sequelize";

/**
 * A step remembers how it was isolated and where it ran (`sandbox`, `container` or `host`, and the runner's name),
 * so its page can say when a step ran without isolation, and on which runner; and the output variables it passed on
 * to later steps (JSON), so a build resumed in a later job still gives them to its remaining steps.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  // Plain SQL: sequelize's addColumn qualifies the table with "public." on Postgres, ignoring the search_path.
  await qi.sequelize.query("ALTER TABLE steps ADD COLUMN executor VARCHAR(16)");
  await qi.sequelize.query("ALTER TABLE steps ADD COLUMN runner_name VARCHAR(300)");
  await qi.sequelize.query("ALTER TABLE steps ADD COLUMN output_variables TEXT");
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.sequelize.query("ALTER TABLE steps DROP COLUMN output_variables");
  await qi.sequelize.query("ALTER TABLE steps DROP COLUMN runner_name");
  await qi.sequelize.query("ALTER TABLE steps DROP COLUMN executor");
}
