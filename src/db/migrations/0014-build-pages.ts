import { DataTypes, type QueryInterface } from "sequelize";

/**
 * What the build pages show beyond states: a build's commit message and author and who or what started it
 * (a push by whom, a person by hand), the time each piece of a step's log reached the server (timestamps per log
 * line), and the test reports a runner found after each step (counts and the first failures).
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  // Plain SQL: sequelize's addColumn qualifies the table with "public." on Postgres, ignoring the search_path.
  await qi.sequelize.query("ALTER TABLE builds ADD COLUMN commit_message TEXT");
  await qi.sequelize.query("ALTER TABLE builds ADD COLUMN commit_author VARCHAR(255)");
  await qi.sequelize.query("ALTER TABLE builds ADD COLUMN started_by VARCHAR(255)");
  await qi.sequelize.query("ALTER TABLE log_chunks ADD COLUMN created_at TIMESTAMP WITH TIME ZONE");
  await qi.createTable("step_test_reports", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    step_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "steps", key: "id" }, onDelete: "CASCADE" },
    files: { type: DataTypes.INTEGER, allowNull: false },
    passed: { type: DataTypes.INTEGER, allowNull: false },
    failed: { type: DataTypes.INTEGER, allowNull: false },
    skipped: { type: DataTypes.INTEGER, allowNull: false },
    failures: { type: DataTypes.TEXT, allowNull: false },
    unreadable: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("step_test_reports", ["step_id"], { unique: true, name: "step_test_reports_step_unique" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("step_test_reports");
  await qi.sequelize.query("ALTER TABLE log_chunks DROP COLUMN created_at");
  await qi.sequelize.query("ALTER TABLE builds DROP COLUMN started_by");
  await qi.sequelize.query("ALTER TABLE builds DROP COLUMN commit_author");
  await qi.sequelize.query("ALTER TABLE builds DROP COLUMN commit_message");
}
