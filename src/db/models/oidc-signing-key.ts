import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export interface OidcSigningKeyAttributes {
  id: number;
  tenantId: number;
  /** 1 for the tenant's first key, then one more for each successor (unique per tenant). */
  generation: number;
  /** The RFC 7638 thumbprint of the public key (the JWS `kid`). */
  kid: string;
  /** JSON of the public JWK's `n` and `e`. */
  publicJwk: string;
  /** Sealed PKCS#8 PEM; read it with revealSecret(key, "privateKey"). Never rendered, logged or sent. */
  privateKey: string;
  /** In the issuer's JWKS from then on. */
  publishedAt: Date;
  /** New tokens are signed with it from then on (until its successor activates). */
  activatesAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<OidcSigningKeyAttributes, "id" | "createdAt" | "updatedAt">;

/** One RSA signing key of a tenant's OIDC issuer. */
export interface OidcSigningKey extends Model<OidcSigningKeyAttributes, Creation>, OidcSigningKeyAttributes {}
export type OidcSigningKeyModel = ModelStatic<OidcSigningKey>;

export const OIDC_SIGNING_KEY_SECRET_FIELDS = ["privateKey"];

export function defineOidcSigningKey(sequelize: Sequelize): OidcSigningKeyModel {
  return sequelize.define<OidcSigningKey>(
    "OidcSigningKey",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      generation: { type: DataTypes.INTEGER, allowNull: false },
      kid: { type: DataTypes.STRING(64), allowNull: false },
      publicJwk: { type: DataTypes.TEXT, allowNull: false },
      privateKey: { type: DataTypes.TEXT, allowNull: false },
      publishedAt: { type: DataTypes.DATE, allowNull: false },
      activatesAt: { type: DataTypes.DATE, allowNull: false },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "oidc_signing_keys", underscored: true, indexes: [{ unique: true, fields: ["tenant_id", "generation"], name: "oidc_signing_keys_tenant_generation_unique" }] },
  );
}
