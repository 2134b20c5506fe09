import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export type TokenPurpose = "jwt-grant" | "oauth-access" | "oauth-refresh" | "forge-system";

export interface AccessTokenAttributes {
  id: number;
  tenantId: number;
  purpose: TokenPurpose;
  /** Sealed; read it with revealSecret(token, "token"). */
  token: string;
  scopes: string | null;
  expiresAt: Date | null;
}

/** An access token minted for a tenant (sealed at rest; deleted on uninstall or disconnect). */
export interface AccessToken extends Model<AccessTokenAttributes, Optional<AccessTokenAttributes, "id" | "scopes" | "expiresAt">>, AccessTokenAttributes {}
export type AccessTokenModel = ModelStatic<AccessToken>;

export const ACCESS_TOKEN_SECRET_FIELDS = ["token"];

export function defineAccessToken(sequelize: Sequelize): AccessTokenModel {
  return sequelize.define<AccessToken>(
    "AccessToken",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      purpose: { type: DataTypes.STRING(32), allowNull: false },
      token: { type: DataTypes.TEXT, allowNull: false },
      scopes: { type: DataTypes.STRING(1024) },
      expiresAt: { type: DataTypes.DATE },
    },
    { tableName: "access_tokens", underscored: true },
  );
}
