import { DataTypes, type QueryInterface } from "sequelize";

/**
 * Bitbucket Cloud through a Forge app (tenants of kind "forge"): one `forge_installations` row per tenant, which is
 * one installation of the operator's Forge app in one workspace. It is keyed by Forge's `installationId` (which
 * changes on a reinstall: the new id then takes over the same row, so the workspace keeps its applications and
 * history) and by the workspace's uuid. The app's system token itself lives in `access_tokens` (purpose
 * "forge-system", sealed, with its expiry; the newest one wins). `last_tick_at` is the last hourly scheduled trigger,
 * `refused_since` the first of an unbroken run of 401s from Bitbucket; either too old makes the installation inactive.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("forge_installations", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    installation_id: { type: DataTypes.STRING(255), allowNull: false },
    previous_installation_id: { type: DataTypes.STRING(255), allowNull: true },
    app_id: { type: DataTypes.STRING(255), allowNull: false },
    environment_id: { type: DataTypes.STRING(255), allowNull: true },
    environment_key: { type: DataTypes.STRING(64), allowNull: true },
    workspace_uuid: { type: DataTypes.STRING(64), allowNull: false },
    api_base_url: { type: DataTypes.STRING(1024), allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    reason: { type: DataTypes.STRING(1024), allowNull: true },
    last_seen_at: { type: DataTypes.DATE, allowNull: true },
    last_tick_at: { type: DataTypes.DATE, allowNull: true },
    refused_since: { type: DataTypes.DATE, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("forge_installations", ["tenant_id"], { unique: true, name: "forge_installations_tenant_unique" });
  await qi.addIndex("forge_installations", ["installation_id"], { unique: true, name: "forge_installations_installation_unique" });
  await qi.addIndex("forge_installations", ["workspace_uuid"], { name: "forge_installations_workspace" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("forge_installations");
}
