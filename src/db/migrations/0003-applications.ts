import { DataTypes, type QueryInterface } from "sequelize";

/** Applications (a repository Pipelines builds) and their variables. */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("applications", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    repository: { type: DataTypes.STRING(255), allowNull: false },
    repository_uuid: { type: DataTypes.STRING(64), allowNull: true },
    auto_build: { type: DataTypes.BOOLEAN, allowNull: false },
    auto_cancel: { type: DataTypes.BOOLEAN, allowNull: false },
    branch_filter: { type: DataTypes.STRING(255), allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("applications", ["tenant_id", "repository"], { unique: true, name: "applications_tenant_repository_unique" });
  await qi.createTable("application_variables", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    application_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "applications", key: "id" }, onDelete: "CASCADE" },
    name: { type: DataTypes.STRING(128), allowNull: false },
    value: { type: DataTypes.TEXT, allowNull: false },
    secured: { type: DataTypes.BOOLEAN, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("application_variables", ["application_id", "name"], { unique: true, name: "application_variables_app_name_unique" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("application_variables");
  await qi.dropTable("applications");
}
