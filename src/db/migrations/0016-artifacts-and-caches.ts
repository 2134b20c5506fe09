import { DataTypes, type QueryInterface } from "sequelize";

/**
 * Artifacts and caches on the server (the blobs themselves are in the blob store, under `blob_key`): a step's
 * artifacts (shared: later steps get them; scoped: only downloadable), an application's caches (one per name), and
 * which earlier build a step's result was reused from ("Re-run failed steps").
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("artifacts", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    build_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "builds", key: "id" }, onDelete: "CASCADE" },
    step_index: { type: DataTypes.INTEGER, allowNull: false },
    name: { type: DataTypes.STRING(200), allowNull: false },
    type: { type: DataTypes.STRING(16), allowNull: false },
    size: { type: DataTypes.BIGINT, allowNull: false },
    blob_key: { type: DataTypes.STRING(400), allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("artifacts", ["build_id", "step_index", "name"], { unique: true, name: "artifacts_build_step_name_unique" });
  await qi.addIndex("artifacts", ["created_at"], { name: "artifacts_created_at" });
  await qi.addIndex("artifacts", ["blob_key"], { name: "artifacts_blob_key" });
  await qi.createTable("caches", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    application_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "applications", key: "id" }, onDelete: "CASCADE" },
    name: { type: DataTypes.STRING(200), allowNull: false },
    size: { type: DataTypes.BIGINT, allowNull: false },
    blob_key: { type: DataTypes.STRING(400), allowNull: false },
    last_used_at: { type: DataTypes.DATE, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("caches", ["application_id", "name"], { unique: true, name: "caches_application_name_unique" });
  await qi.addIndex("caches", ["last_used_at"], { name: "caches_last_used_at" });
  // Plain SQL: sequelize's addColumn qualifies the table with "public." on Postgres, ignoring the search_path.
  await qi.sequelize.query("ALTER TABLE steps ADD COLUMN reused_from INTEGER");
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.sequelize.query("ALTER TABLE steps DROP COLUMN reused_from");
  await qi.dropTable("caches");
  await qi.dropTable("artifacts");
}
