import { DataTypes, type QueryInterface } from "sequelize";

/**
 * The RSA keys each tenant's OIDC issuer signs step tokens with (BITBUCKET_STEP_OIDC_TOKEN). A tenant has a short
 * sequence of them: `generation` 1, 2, 3… unique per tenant, so two processes generating the first key (or the same
 * successor) at once cannot both store one — the second insert fails on the index and reads the winner's key.
 * `published_at`: from then on the public key is in the issuer's JWKS; `activates_at`: from then on new tokens are
 * signed with it (a successor is published a day before it signs). A key is deleted once every token it signed has
 * expired. The private key (PKCS#8 PEM) is sealed like every secret column; the public key is a JWK (n, e) in JSON.
 */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("oidc_signing_keys", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    generation: { type: DataTypes.INTEGER, allowNull: false },
    kid: { type: DataTypes.STRING(64), allowNull: false },
    public_jwk: { type: DataTypes.TEXT, allowNull: false },
    private_key: { type: DataTypes.TEXT, allowNull: false },
    published_at: { type: DataTypes.DATE, allowNull: false },
    activates_at: { type: DataTypes.DATE, allowNull: false },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("oidc_signing_keys", ["tenant_id", "generation"], { unique: true, name: "oidc_signing_keys_tenant_generation_unique" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("oidc_signing_keys");
}
