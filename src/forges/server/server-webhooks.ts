import { randomBytes } from "node:crypto";
import type { Models, Tenant } from "../../db/models";
import type { ServerConnection } from "../../db/models/server-connection";
import { revealSecret } from "../../db/encrypted-fields";
import { repoPath, serverMessage, serverRequest } from "./server-api";
import { credentialsOf } from "./server-connections";
import { SERVER_ACTED_EVENTS } from "./parse-server-event";

/** The events the webhook subscribes to (the ones Pipelines acts on). */
export const WEBHOOK_EVENTS = [...SERVER_ACTED_EVENTS];

/** The intake URL of one webhook: `<baseUrl>/webhook/server/<hookKey>`. */
export function webhookUrl(baseUrl: string, hookKey: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/webhook/server/${hookKey}`;
}

/**
 * Enables auto-builds of `repository` (`PROJECT/slug`): makes it an application if it is not one, and creates a
 * webhook on the repository (`POST …/webhooks`) with a random secret, pointing at our intake. Enabling twice keeps
 * the one webhook. Throws with the server's message when it refuses.
 */
export async function enableServerAutoBuild(models: Models, tenant: Tenant, repository: string, baseUrl: string): Promise<{ applicationId: number; hookKey: string }> {
  const conn = await models.ServerConnection.findOne({ where: { tenantId: tenant.id } });
  if (!conn || tenant.status !== "active") throw new Error("this Bitbucket Server connection was removed");
  const creds = credentialsOf(conn);
  const repo = await serverRequest(creds, "GET", repoPath(repository));
  if (repo.status === 404) throw new Error(`${conn.host} has no repository ${repository} (or ${conn.username} cannot see it)`);
  if (repo.status !== 200) throw new Error(`${conn.host} answered HTTP ${repo.status} for ${repository}: ${serverMessage(repo)}`);
  const app =
    (await models.Application.findOne({ where: { tenantId: tenant.id, repository } })) ??
    (await models.Application.create({ tenantId: tenant.id, repository, autoBuild: false, autoCancel: true }));
  const existing = await models.ServerWebhook.findOne({ where: { tenantId: tenant.id, repository } });
  if (existing?.serverHookId) {
    await app.update({ autoBuild: true });
    return { applicationId: app.id, hookKey: existing.hookKey };
  }
  const hookKey = existing?.hookKey ?? randomBytes(18).toString("base64url");
  const secret = existing ? (revealSecret(existing, "secret") ?? "") : randomBytes(32).toString("hex");
  const row = existing ?? (await models.ServerWebhook.create({ tenantId: tenant.id, repository, hookKey, secret }));
  const res = await serverRequest(creds, "POST", `${repoPath(repository)}/webhooks`, {
    name: "Pipelines for Bitbucket",
    url: webhookUrl(baseUrl, hookKey),
    events: WEBHOOK_EVENTS,
    active: true,
    configuration: { secret },
  });
  if (res.status !== 201 && res.status !== 200) {
    await row.destroy();
    const why = res.status === 401 || res.status === 403 ? `${conn.username} needs admin permission on ${repository} to add a webhook` : serverMessage(res);
    throw new Error(`${conn.host} refused to create the webhook on ${repository} (HTTP ${res.status}): ${why}`);
  }
  await row.update({ serverHookId: res.json<{ id: number }>().id });
  await app.update({ autoBuild: true });
  return { applicationId: app.id, hookKey };
}

/** Deletes one webhook on the server; a webhook already gone (404) counts as deleted. */
async function deleteOnServer(conn: ServerConnection, repository: string, serverHookId: number | null): Promise<void> {
  if (!serverHookId) return;
  const res = await serverRequest(credentialsOf(conn), "DELETE", `${repoPath(repository)}/webhooks/${serverHookId}`);
  if (res.status !== 204 && res.status !== 200 && res.status !== 404) throw new Error(`${conn.host} refused to delete the webhook on ${repository} (HTTP ${res.status}): ${serverMessage(res)}`);
}

/** Disables auto-builds of `repository`: deletes its webhook on the server and here; the application stays. */
export async function disableServerAutoBuild(models: Models, tenant: Tenant, repository: string): Promise<void> {
  const conn = await models.ServerConnection.findOne({ where: { tenantId: tenant.id } });
  const hook = await models.ServerWebhook.findOne({ where: { tenantId: tenant.id, repository } });
  if (conn && hook) await deleteOnServer(conn, repository, hook.serverHookId);
  await hook?.destroy();
  await models.Application.update({ autoBuild: false }, { where: { tenantId: tenant.id, repository } });
}

/** Deletes the application of `repository` (and its webhook first). */
export async function deleteServerApplication(models: Models, tenant: Tenant, repository: string): Promise<void> {
  await disableServerAutoBuild(models, tenant, repository);
  await models.Application.destroy({ where: { tenantId: tenant.id, repository } });
}

/** Deletes every webhook of the connection on the server; returns what could not be deleted. */
export async function deleteAllServerWebhooks(models: Models, tenant: Tenant, conn: ServerConnection): Promise<string[]> {
  const errors: string[] = [];
  for (const hook of await models.ServerWebhook.findAll({ where: { tenantId: tenant.id } })) {
    try {
      await deleteOnServer(conn, hook.repository, hook.serverHookId);
      await hook.destroy();
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  return errors;
}
