import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export type ForgeInstallationState = "active" | "inactive";

export interface ForgeInstallationAttributes {
  id: number;
  tenantId: number;
  /** Forge's installation id (`app.installationId` of the invocation token); a reinstall brings a new one. */
  installationId: string;
  /** The id this row had before the last reinstall took it over. */
  previousInstallationId: string | null;
  appId: string;
  environmentId: string | null;
  /** `production`, `staging`, `development`: part of the address of the app's pages in Bitbucket. */
  environmentKey: string | null;
  /** `{…}` of the workspace the app is installed in. */
  workspaceUuid: string;
  /** `app.apiBaseUrl` of the newest invocation: where Bitbucket's REST API is reached with the system token. */
  apiBaseUrl: string;
  state: ForgeInstallationState;
  /** Why it is inactive (shown on the pages). */
  reason: string | null;
  lastSeenAt: Date | null;
  lastTickAt: Date | null;
  refusedSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<ForgeInstallationAttributes, "id" | "previousInstallationId" | "environmentId" | "environmentKey" | "reason" | "lastSeenAt" | "lastTickAt" | "refusedSince" | "createdAt" | "updatedAt">;

/** The Forge installation behind one tenant of kind "forge" (one workspace). Its system token is in access_tokens. */
export interface ForgeInstallation extends Model<ForgeInstallationAttributes, Creation>, ForgeInstallationAttributes {}
export type ForgeInstallationModel = ModelStatic<ForgeInstallation>;

export function defineForgeInstallation(sequelize: Sequelize): ForgeInstallationModel {
  return sequelize.define<ForgeInstallation>(
    "ForgeInstallation",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false, unique: true },
      installationId: { type: DataTypes.STRING(255), allowNull: false, unique: true },
      previousInstallationId: { type: DataTypes.STRING(255) },
      appId: { type: DataTypes.STRING(255), allowNull: false },
      environmentId: { type: DataTypes.STRING(255) },
      environmentKey: { type: DataTypes.STRING(64) },
      workspaceUuid: { type: DataTypes.STRING(64), allowNull: false },
      apiBaseUrl: { type: DataTypes.STRING(1024), allowNull: false },
      state: { type: DataTypes.STRING(16), allowNull: false },
      reason: { type: DataTypes.STRING(1024) },
      lastSeenAt: { type: DataTypes.DATE },
      lastTickAt: { type: DataTypes.DATE },
      refusedSince: { type: DataTypes.DATE },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "forge_installations", underscored: true },
  );
}
