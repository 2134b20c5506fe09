import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export type OAuthConnectionState = "connected" | "reconnect-needed";

export interface OAuthConnectionAttributes {
  id: number;
  tenantId: number;
  workspaceSlug: string;
  workspaceUuid: string;
  /** The Bitbucket user whose grant the tenant uses. */
  userUuid: string;
  userName: string | null;
  state: OAuthConnectionState;
  /** Why a reconnect is needed (Bitbucket's answer to the refresh), shown on the pages. */
  reason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The OAuth grant behind one tenant of kind "cloud-oauth" (one workspace). Tokens are in access_tokens. */
export interface OAuthConnection
  extends Model<OAuthConnectionAttributes, Optional<OAuthConnectionAttributes, "id" | "userName" | "reason" | "createdAt" | "updatedAt">>,
    OAuthConnectionAttributes {}
export type OAuthConnectionModel = ModelStatic<OAuthConnection>;

export function defineOAuthConnection(sequelize: Sequelize): OAuthConnectionModel {
  return sequelize.define<OAuthConnection>(
    "OAuthConnection",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false, unique: true },
      workspaceSlug: { type: DataTypes.STRING(255), allowNull: false },
      workspaceUuid: { type: DataTypes.STRING(64), allowNull: false },
      userUuid: { type: DataTypes.STRING(64), allowNull: false },
      userName: { type: DataTypes.STRING(255) },
      state: { type: DataTypes.STRING(32), allowNull: false },
      reason: { type: DataTypes.STRING(1024) },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "oauth_connections", underscored: true },
  );
}

export interface OAuthSessionAttributes {
  id: number;
  /** sha256 hex of the cookie value. */
  sessionHash: string;
  /** sha256 hex of the pending authorization `state`; cleared when used. */
  stateHash: string | null;
  stateExpiresAt: Date | null;
  userUuid: string | null;
  userName: string | null;
  /** JSON array of the workspace uuids the user belonged to at the grant. */
  workspaceUuids: string | null;
  /**
   * The signed-in person's own Bitbucket grant (OAuth sessions only; sealed): what Pipelines asks Bitbucket with when
   * it must know what this person may do (e.g. whether they administer a repository). Gone with the session.
   */
  userAccessToken: string | null;
  userRefreshToken: string | null;
  userTokenExpiresAt: Date | null;
  expiresAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

export interface OAuthSession
  extends Model<OAuthSessionAttributes, Optional<OAuthSessionAttributes, "id" | "stateHash" | "stateExpiresAt" | "userUuid" | "userName" | "workspaceUuids" | "userAccessToken" | "userRefreshToken" | "userTokenExpiresAt" | "createdAt" | "updatedAt">>,
    OAuthSessionAttributes {}
export type OAuthSessionModel = ModelStatic<OAuthSession>;

export const OAUTH_SESSION_SECRET_FIELDS = ["userAccessToken", "userRefreshToken"];

export function defineOAuthSession(sequelize: Sequelize): OAuthSessionModel {
  return sequelize.define<OAuthSession>(
    "OAuthSession",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      sessionHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      stateHash: { type: DataTypes.STRING(64) },
      stateExpiresAt: { type: DataTypes.DATE },
      userUuid: { type: DataTypes.STRING(64) },
      userName: { type: DataTypes.STRING(255) },
      workspaceUuids: { type: DataTypes.TEXT },
      userAccessToken: { type: DataTypes.TEXT },
      userRefreshToken: { type: DataTypes.TEXT },
      userTokenExpiresAt: { type: DataTypes.DATE },
      expiresAt: { type: DataTypes.DATE, allowNull: false },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "oauth_sessions", underscored: true },
  );
}

export interface CloudWebhookAttributes {
  id: number;
  tenantId: number;
  /** `workspace/repo_slug`. */
  repository: string;
  hookKey: string;
  /** The uuid Bitbucket gave the subscription (to delete it). */
  bitbucketUuid: string | null;
  /** Sealed HMAC secret of this webhook. */
  secret: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface CloudWebhook extends Model<CloudWebhookAttributes, Optional<CloudWebhookAttributes, "id" | "bitbucketUuid" | "createdAt" | "updatedAt">>, CloudWebhookAttributes {}
export type CloudWebhookModel = ModelStatic<CloudWebhook>;

export const CLOUD_WEBHOOK_SECRET_FIELDS = ["secret"];

export function defineCloudWebhook(sequelize: Sequelize): CloudWebhookModel {
  return sequelize.define<CloudWebhook>(
    "CloudWebhook",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      repository: { type: DataTypes.STRING(255), allowNull: false },
      hookKey: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      bitbucketUuid: { type: DataTypes.STRING(64) },
      secret: { type: DataTypes.TEXT, allowNull: false },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "cloud_webhooks", underscored: true },
  );
}
