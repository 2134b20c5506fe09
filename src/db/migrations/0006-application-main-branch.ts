import { randomBytes } from "node:crypto";
import type { QueryInterface } from "sequelize";

/** A badge token: 32 random bytes, base64url (43 characters), as the model makes them for new applications. */
function newBadgeToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Applications remember their repository's main branch (read from Bitbucket when the application is made, so pages
 * never ask Bitbucket on load) and carry the token of their status badge's URL. Existing applications get a token
 * here; their main branch stays unknown (null) until a page learns it once.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  // Plain SQL: sequelize's addColumn qualifies the table with "public." on Postgres, ignoring the search_path.
  await qi.sequelize.query("ALTER TABLE applications ADD COLUMN main_branch VARCHAR(255)");
  await qi.sequelize.query("ALTER TABLE applications ADD COLUMN badge_token VARCHAR(64)");
  const [rows] = await qi.sequelize.query("SELECT id FROM applications");
  for (const row of rows as { id: number }[]) {
    await qi.sequelize.query("UPDATE applications SET badge_token = $1 WHERE id = $2", { bind: [newBadgeToken(), row.id] });
  }
  await qi.addIndex("applications", ["badge_token"], { unique: true, name: "applications_badge_token_unique" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.removeIndex("applications", "applications_badge_token_unique");
  await qi.sequelize.query("ALTER TABLE applications DROP COLUMN badge_token");
  await qi.sequelize.query("ALTER TABLE applications DROP COLUMN main_branch");
}
