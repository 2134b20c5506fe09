import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export type TenantKind = "cloud-connect" | "cloud-oauth" | "server" | "forge";
export type TenantStatus = "active" | "inactive";

export interface TenantAttributes {
  id: number;
  kind: TenantKind;
  clientKey: string;
  status: TenantStatus;
  appKey: string | null;
  baseUrl: string;
  baseApiUrl: string | null;
  principalUuid: string | null;
  principalName: string | null;
  principalType: string | null;
  /** Sealed; read it with revealSecret(tenant, "sharedSecret"). */
  sharedSecret: string | null;
  installPayload: string | null;
  installedAt: Date | null;
  uninstalledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<
  TenantAttributes,
  "id" | "appKey" | "baseApiUrl" | "principalUuid" | "principalName" | "principalType" | "sharedSecret" | "installPayload" | "installedAt" | "uninstalledAt" | "createdAt" | "updatedAt"
>;

/** One installation or connection of any kind of Bitbucket. Every row that belongs to a tenant carries its id. */
export interface Tenant extends Model<TenantAttributes, Creation>, TenantAttributes {}
export type TenantModel = ModelStatic<Tenant>;

export const TENANT_SECRET_FIELDS = ["sharedSecret"];

export function defineTenant(sequelize: Sequelize): TenantModel {
  return sequelize.define<Tenant>(
    "Tenant",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      kind: { type: DataTypes.STRING(32), allowNull: false },
      clientKey: { type: DataTypes.STRING(255), allowNull: false, unique: true },
      status: { type: DataTypes.STRING(16), allowNull: false },
      appKey: { type: DataTypes.STRING(255) },
      baseUrl: { type: DataTypes.STRING(1024), allowNull: false },
      baseApiUrl: { type: DataTypes.STRING(1024) },
      principalUuid: { type: DataTypes.STRING(64) },
      principalName: { type: DataTypes.STRING(255) },
      principalType: { type: DataTypes.STRING(32) },
      sharedSecret: { type: DataTypes.TEXT },
      installPayload: { type: DataTypes.TEXT },
      installedAt: { type: DataTypes.DATE },
      uninstalledAt: { type: DataTypes.DATE },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "tenants", underscored: true },
  );
}
