import { DataTypes, type QueryInterface } from "sequelize";

/** Tenants (one installation or connection of any kind of Bitbucket) and the access tokens minted for them. */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("tenants", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    kind: { type: DataTypes.STRING(32), allowNull: false },
    client_key: { type: DataTypes.STRING(255), allowNull: false, unique: true },
    status: { type: DataTypes.STRING(16), allowNull: false },
    app_key: { type: DataTypes.STRING(255), allowNull: true },
    base_url: { type: DataTypes.STRING(1024), allowNull: false },
    base_api_url: { type: DataTypes.STRING(1024), allowNull: true },
    principal_uuid: { type: DataTypes.STRING(64), allowNull: true },
    principal_name: { type: DataTypes.STRING(255), allowNull: true },
    principal_type: { type: DataTypes.STRING(32), allowNull: true },
    shared_secret: { type: DataTypes.TEXT, allowNull: true },
    install_payload: { type: DataTypes.TEXT, allowNull: true },
    installed_at: { type: DataTypes.DATE, allowNull: true },
    uninstalled_at: { type: DataTypes.DATE, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.createTable("access_tokens", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    purpose: { type: DataTypes.STRING(32), allowNull: false },
    token: { type: DataTypes.TEXT, allowNull: false },
    scopes: { type: DataTypes.STRING(1024), allowNull: true },
    expires_at: { type: DataTypes.DATE, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("access_tokens", ["tenant_id", "purpose"]);
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("access_tokens");
  await qi.dropTable("tenants");
}
