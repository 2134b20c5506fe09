import { DataTypes, type QueryInterface } from "sequelize";

/**
 * The SSH key pair of each tenant (one at most: unique on tenant_id, so two first requests at once cannot create
 * two), its private key sealed like every secret column, and where it was added on Bitbucket (the account and the
 * uuid Bitbucket gave the key) so a disconnect can delete it there.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("tenant_ssh_keys", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    public_key: { type: DataTypes.STRING(1024), allowNull: false },
    fingerprint: { type: DataTypes.STRING(128), allowNull: false },
    private_key: { type: DataTypes.TEXT, allowNull: false },
    bitbucket_account: { type: DataTypes.STRING(255), allowNull: true },
    bitbucket_key_uuid: { type: DataTypes.STRING(64), allowNull: true },
    added_to_bitbucket_at: { type: DataTypes.DATE, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("tenant_ssh_keys", ["tenant_id"], { unique: true, name: "tenant_ssh_keys_tenant_unique" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("tenant_ssh_keys");
}
