import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export type ServerAuthKind = "password" | "token";
export type ServerCloneProtocol = "ssh" | "http";

export interface ServerConnectionAttributes {
  id: number;
  tenantId: number;
  /** `https://bitbucket.example.com[/context]`, no trailing slash. */
  host: string;
  username: string;
  /** password: Basic auth with username and password; token: a personal access token sent as Bearer. */
  authKind: ServerAuthKind;
  /** Sealed password or token; read it with revealSecret(conn, "secret"). */
  secret: string;
  sshPort: number;
  /** The user in the clone URL (Bitbucket Server: `git`). */
  sshUser: string;
  cloneProtocol: ServerCloneProtocol;
  /** The host key line(s) pinned on first connection (`[host]:port ssh-ed25519 AAAA…`); null until then. */
  knownHosts: string | null;
  hostKeyFingerprint: string | null;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<ServerConnectionAttributes, "id" | "sshPort" | "sshUser" | "cloneProtocol" | "knownHosts" | "hostKeyFingerprint" | "createdAt" | "updatedAt">;

/** The credentials of one Bitbucket Server / Data Center connection (a tenant of kind "server"). */
export interface ServerConnection extends Model<ServerConnectionAttributes, Creation>, ServerConnectionAttributes {}
export type ServerConnectionModel = ModelStatic<ServerConnection>;

export const SERVER_CONNECTION_SECRET_FIELDS = ["secret"];

export function defineServerConnection(sequelize: Sequelize): ServerConnectionModel {
  return sequelize.define<ServerConnection>(
    "ServerConnection",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false, unique: true },
      host: { type: DataTypes.STRING(1024), allowNull: false },
      username: { type: DataTypes.STRING(255), allowNull: false },
      authKind: { type: DataTypes.STRING(16), allowNull: false },
      secret: { type: DataTypes.TEXT, allowNull: false },
      sshPort: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 22 },
      sshUser: { type: DataTypes.STRING(64), allowNull: false, defaultValue: "git" },
      cloneProtocol: { type: DataTypes.STRING(8), allowNull: false, defaultValue: "ssh" },
      knownHosts: { type: DataTypes.TEXT },
      hostKeyFingerprint: { type: DataTypes.STRING(128) },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "server_connections", underscored: true },
  );
}

export interface ServerWebhookAttributes {
  id: number;
  tenantId: number;
  /** `PROJECT/slug`. */
  repository: string;
  /** Random; names the webhook in the intake URL (`/webhook/server/<hookKey>`). */
  hookKey: string;
  /** The id Bitbucket Server gave the webhook (to delete it). */
  serverHookId: number | null;
  /** Sealed HMAC secret of this webhook. */
  secret: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ServerWebhook extends Model<ServerWebhookAttributes, Optional<ServerWebhookAttributes, "id" | "serverHookId" | "createdAt" | "updatedAt">>, ServerWebhookAttributes {}
export type ServerWebhookModel = ModelStatic<ServerWebhook>;

export const SERVER_WEBHOOK_SECRET_FIELDS = ["secret"];

export function defineServerWebhook(sequelize: Sequelize): ServerWebhookModel {
  return sequelize.define<ServerWebhook>(
    "ServerWebhook",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      repository: { type: DataTypes.STRING(255), allowNull: false },
      hookKey: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      serverHookId: { type: DataTypes.INTEGER },
      secret: { type: DataTypes.TEXT, allowNull: false },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "server_webhooks", underscored: true },
  );
}
