import { randomUUID } from "node:crypto";
import type { Models, Tenant } from "../../db/models";
import type { ServerConnection } from "../../db/models/server-connection";
import { revealSecret } from "../../db/encrypted-fields";
import type { ServerCredentials } from "./server-api";
import { normaliseHost } from "./server-api";
import { checkServerCredentials } from "./check-credentials";
import { deleteAllServerWebhooks } from "./server-webhooks";

export interface NewServerConnection {
  host: string;
  username: string;
  /** Password, or a personal access token when `authKind` is "token". */
  secret: string;
  authKind?: "password" | "token";
  sshPort?: number;
  sshUser?: string;
  cloneProtocol?: "ssh" | "http";
}

/** What may be shown of a connection: never the password or token. */
export interface ServerConnectionInfo {
  tenantId: number;
  host: string;
  username: string;
  authKind: string;
  secret: "••••••••";
  sshPort: number;
  cloneProtocol: string;
  hostKeyFingerprint: string | null;
}

export function connectionInfo(conn: ServerConnection): ServerConnectionInfo {
  return {
    tenantId: conn.tenantId,
    host: conn.host,
    username: conn.username,
    authKind: conn.authKind,
    secret: "••••••••",
    sshPort: conn.sshPort,
    cloneProtocol: conn.cloneProtocol,
    hostKeyFingerprint: conn.hostKeyFingerprint,
  };
}

export function validPort(port: unknown): number {
  const n = typeof port === "string" && /^\d+$/.test(port) ? Number(port) : port;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`the SSH port must be a number from 1 to 65535 (got ${JSON.stringify(port)})`);
  return n;
}

/**
 * "Add Credentials": checks them against the server (throws ServerCredentialsError with a message for a person),
 * then stores a tenant of kind "server" and its connection (the secret sealed) in one transaction.
 */
export async function addServerConnection(models: Models, input: NewServerConnection): Promise<{ tenant: Tenant; connection: ServerConnection; version: string; displayName: string }> {
  const host = normaliseHost(input.host);
  if (!input.username || /[\s:]/.test(input.username)) throw new Error("the username must be given and contain no spaces or colons");
  if (!input.secret) throw new Error("the password or access token must be given");
  const sshPort = validPort(input.sshPort ?? 22);
  const authKind = input.authKind ?? "password";
  const checked = await checkServerCredentials({ host, username: input.username, authKind, secret: input.secret });
  return models.sequelize.transaction(async (transaction) => {
    const tenant = await models.Tenant.create(
      { kind: "server", clientKey: `server:${randomUUID()}`, status: "active", baseUrl: host, principalName: input.username, installedAt: new Date() },
      { transaction },
    );
    const connection = await models.ServerConnection.create(
      { tenantId: tenant.id, host, username: input.username, authKind, secret: input.secret, sshPort, sshUser: input.sshUser ?? "git", cloneProtocol: input.cloneProtocol ?? "ssh" },
      { transaction },
    );
    return { tenant, connection, ...checked };
  });
}

/** The connection of a tenant of kind "server" (throws when it was removed). */
export async function serverConnectionOf(models: Models, tenant: Tenant): Promise<ServerConnection> {
  const conn = await models.ServerConnection.findOne({ where: { tenantId: tenant.id } });
  if (!conn) throw new Error(`the Bitbucket Server connection of tenant ${tenant.id} was removed`);
  return conn;
}

/** The plain credentials of a connection (the secret registered with the log redactor by revealSecret). */
export function credentialsOf(conn: ServerConnection): ServerCredentials {
  const secret = revealSecret(conn, "secret");
  if (!secret) throw new Error(`the Bitbucket Server connection of tenant ${conn.tenantId} has no password or token`);
  return { host: conn.host, username: conn.username, authKind: conn.authKind, secret };
}

/**
 * Removes a connection: deletes every webhook Pipelines made on the server (best effort: a server that is gone
 * cannot be asked; the reasons are returned), turns auto-builds off, marks the tenant inactive and deletes the
 * stored credentials.
 */
export async function removeServerConnection(models: Models, tenant: Tenant): Promise<{ webhookErrors: string[] }> {
  const conn = await models.ServerConnection.findOne({ where: { tenantId: tenant.id } });
  const webhookErrors = conn ? await deleteAllServerWebhooks(models, tenant, conn) : [];
  await models.sequelize.transaction(async (transaction) => {
    await models.Application.update({ autoBuild: false }, { where: { tenantId: tenant.id }, transaction });
    await models.ServerWebhook.destroy({ where: { tenantId: tenant.id }, transaction });
    await models.ServerConnection.destroy({ where: { tenantId: tenant.id }, transaction });
    await tenant.update({ status: "inactive", uninstalledAt: new Date() }, { transaction });
  });
  return { webhookErrors };
}
