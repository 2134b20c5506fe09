import { DataTypes, type QueryInterface } from "sequelize";

/**
 * Bitbucket Cloud through an OAuth consumer:
 * - `oauth_connections`: one per tenant of kind "cloud-oauth" (one tenant per workspace): who granted access, and
 *   whether the grant still works ("connected") or was refused at the last refresh ("reconnect-needed"). The
 *   tokens themselves live in `access_tokens` (purposes oauth-access / oauth-refresh), sealed.
 * - `oauth_sessions`: browser sessions of the standalone pages, by the sha256 of the cookie value (the cookie is
 *   never stored); the pending authorization `state` (hashed, single use, expiring) and, after the grant, the
 *   Bitbucket identity and the uuids of the workspaces it belongs to.
 * - `cloud_webhooks`: the repository webhooks Pipelines created, each with its own sealed secret and a random key
 *   that names it in the intake URL (`/webhook/cloud/<hookKey>`).
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("oauth_connections", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    workspace_slug: { type: DataTypes.STRING(255), allowNull: false },
    workspace_uuid: { type: DataTypes.STRING(64), allowNull: false },
    user_uuid: { type: DataTypes.STRING(64), allowNull: false },
    user_name: { type: DataTypes.STRING(255), allowNull: true },
    state: { type: DataTypes.STRING(32), allowNull: false },
    reason: { type: DataTypes.STRING(1024), allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("oauth_connections", ["tenant_id"], { unique: true, name: "oauth_connections_tenant_unique" });
  await qi.createTable("oauth_sessions", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    session_hash: { type: DataTypes.STRING(64), allowNull: false },
    state_hash: { type: DataTypes.STRING(64), allowNull: true },
    state_expires_at: { type: DataTypes.DATE, allowNull: true },
    user_uuid: { type: DataTypes.STRING(64), allowNull: true },
    user_name: { type: DataTypes.STRING(255), allowNull: true },
    workspace_uuids: { type: DataTypes.TEXT, allowNull: true },
    expires_at: { type: DataTypes.DATE, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("oauth_sessions", ["session_hash"], { unique: true, name: "oauth_sessions_hash_unique" });
  await qi.createTable("cloud_webhooks", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    repository: { type: DataTypes.STRING(255), allowNull: false },
    hook_key: { type: DataTypes.STRING(64), allowNull: false },
    bitbucket_uuid: { type: DataTypes.STRING(64), allowNull: true },
    secret: { type: DataTypes.TEXT, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("cloud_webhooks", ["hook_key"], { unique: true, name: "cloud_webhooks_hook_key_unique" });
  await qi.addIndex("cloud_webhooks", ["tenant_id", "repository"], { unique: true, name: "cloud_webhooks_tenant_repository_unique" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("cloud_webhooks");
  await qi.dropTable("oauth_sessions");
  await qi.dropTable("oauth_connections");
}
