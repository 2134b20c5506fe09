import { randomBytes } from "node:crypto";
import type { Models, Tenant, Application } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";
import { ACTED_EVENTS } from "../acted-events";
import { bitbucketMessage } from "../../tenants/ssh-key-bitbucket";
import { repoPath, type CloudCaller } from "../cloud/cloud-caller";

/** The events a repository webhook subscribes to: the ones Pipelines acts on. */
export const WEBHOOK_EVENTS = [...ACTED_EVENTS];

/** The intake URL of one webhook: `<baseUrl>/webhook/cloud/<hookKey>`. */
export function cloudWebhookUrl(baseUrl: string, hookKey: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/webhook/cloud/${hookKey}`;
}

/**
 * Auto-builds on for `app`: creates the repository webhook (`POST …/hooks`, the acted events, a random secret per
 * hook) pointing at our intake, unless one exists. Throws with Bitbucket's words when it refuses (then nothing is
 * kept and auto-build stays off).
 */
export async function enableCloudWebhook(models: Models, caller: CloudCaller, tenant: Tenant, app: Application, baseUrl: string): Promise<void> {
  const existing = await models.CloudWebhook.findOne({ where: { tenantId: tenant.id, repository: app.repository } });
  if (existing?.bitbucketUuid) {
    await app.update({ autoBuild: true });
    return;
  }
  const hookKey = existing?.hookKey ?? randomBytes(18).toString("base64url");
  const secret = existing ? (revealSecret(existing, "secret") ?? "") : randomBytes(32).toString("hex");
  const row = existing ?? (await models.CloudWebhook.create({ tenantId: tenant.id, repository: app.repository, hookKey, secret }));
  const res = await caller.request("POST", `${repoPath(app.repository)}/hooks`, {
    body: { description: "Pipelines for Bitbucket", url: cloudWebhookUrl(baseUrl, hookKey), active: true, secret, events: WEBHOOK_EVENTS },
  });
  if (res.status !== 201 && res.status !== 200) {
    await row.destroy();
    await app.update({ autoBuild: false });
    const why = res.status === 403 ? `${bitbucketMessage(res)} (creating a webhook needs the webhook scope and admin access to ${app.repository})` : bitbucketMessage(res);
    throw new Error(`Bitbucket refused to create the webhook on ${app.repository} (HTTP ${res.status}): ${why}`);
  }
  await row.update({ bitbucketUuid: String(res.json<{ uuid?: unknown }>().uuid ?? "") || null });
  await app.update({ autoBuild: true });
}

/** Deletes one subscription on Bitbucket; one already gone (404) counts as deleted. */
async function deleteOnBitbucket(caller: CloudCaller, repository: string, uuid: string | null): Promise<void> {
  if (!uuid) return;
  const res = await caller.request("DELETE", `${repoPath(repository)}/hooks/${encodeURIComponent(uuid)}`);
  if (res.status !== 204 && res.status !== 200 && res.status !== 404) throw new Error(`Bitbucket refused to delete the webhook on ${repository} (HTTP ${res.status}): ${bitbucketMessage(res)}`);
}

/** Auto-builds off for `repository`: its webhook is deleted on Bitbucket and here; the application stays. */
export async function disableCloudWebhook(models: Models, caller: CloudCaller, tenant: Tenant, repository: string): Promise<void> {
  const hook = await models.CloudWebhook.findOne({ where: { tenantId: tenant.id, repository } });
  if (hook) await deleteOnBitbucket(caller, repository, hook.bitbucketUuid);
  await hook?.destroy();
  await models.Application.update({ autoBuild: false }, { where: { tenantId: tenant.id, repository } });
}

/** Deletes every webhook of the tenant on Bitbucket (and here); returns what could not be deleted. */
export async function deleteAllCloudWebhooks(models: Models, caller: CloudCaller, tenant: Tenant): Promise<string[]> {
  const errors: string[] = [];
  for (const hook of await models.CloudWebhook.findAll({ where: { tenantId: tenant.id } })) {
    try {
      await deleteOnBitbucket(caller, hook.repository, hook.bitbucketUuid);
      await hook.destroy();
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  return errors;
}
