import { DataTypes, type QueryInterface } from "sequelize";

/**
 * Bitbucket Server / Data Center connections: one per tenant of kind "server" (host, user, password or personal
 * access token sealed, SSH port and the host key pinned on first connection), and the webhooks Pipelines created on
 * its repositories (each with its own random secret, sealed, and a random id that names it in the intake URL).
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("server_connections", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    host: { type: DataTypes.STRING(1024), allowNull: false },
    username: { type: DataTypes.STRING(255), allowNull: false },
    auth_kind: { type: DataTypes.STRING(16), allowNull: false },
    secret: { type: DataTypes.TEXT, allowNull: false },
    ssh_port: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 22 },
    ssh_user: { type: DataTypes.STRING(64), allowNull: false, defaultValue: "git" },
    clone_protocol: { type: DataTypes.STRING(8), allowNull: false, defaultValue: "ssh" },
    known_hosts: { type: DataTypes.TEXT, allowNull: true },
    host_key_fingerprint: { type: DataTypes.STRING(128), allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("server_connections", ["tenant_id"], { unique: true, name: "server_connections_tenant_unique" });
  await qi.createTable("server_webhooks", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    repository: { type: DataTypes.STRING(255), allowNull: false },
    hook_key: { type: DataTypes.STRING(64), allowNull: false },
    server_hook_id: { type: DataTypes.INTEGER, allowNull: true },
    secret: { type: DataTypes.TEXT, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("server_webhooks", ["hook_key"], { unique: true, name: "server_webhooks_hook_key_unique" });
  await qi.addIndex("server_webhooks", ["tenant_id", "repository"], { unique: true, name: "server_webhooks_tenant_repository_unique" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("server_webhooks");
  await qi.dropTable("server_connections");
}
