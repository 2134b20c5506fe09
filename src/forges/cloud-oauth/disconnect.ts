import type { Models, Tenant } from "../../db/models";
import type { TenantRevoker } from "../../tenants/revoke-tenant";
import { revokeTenant } from "../../tenants/revoke-tenant";
import type { CloudCaller } from "../cloud/cloud-caller";
import { deleteAllCloudWebhooks } from "./oauth-webhooks";

/**
 * Disconnect = revoke, in this order while the grant still works:
 * 1. delete every repository webhook Pipelines created (on Bitbucket, then here);
 * 2. delete the workspace SSH key from the Bitbucket account "Add to my Bitbucket account" put it on;
 * 3. revoke the tenant: inactive, every token deleted, queued and running builds stopped, the key pair deleted;
 * 4. forget the connection and any webhook rows left.
 * What Bitbucket refused (or a grant already revoked) is returned, so the page can say what to remove by hand.
 */
export async function disconnectOAuthTenant(models: Models, caller: CloudCaller, tenant: Tenant, revokers: TenantRevoker[]): Promise<{ leftOnBitbucket: string[] }> {
  const left: string[] = [];
  try {
    left.push(...(await deleteAllCloudWebhooks(models, caller, tenant)));
  } catch (err) {
    left.push(`webhooks: ${(err as Error).message}`);
  }
  const key = await models.TenantSshKey.findOne({ where: { tenantId: tenant.id } });
  if (key?.bitbucketAccount && key.bitbucketKeyUuid) {
    try {
      const res = await caller.request("DELETE", `/2.0/users/${encodeURIComponent(key.bitbucketAccount)}/ssh-keys/${encodeURIComponent(key.bitbucketKeyUuid)}`);
      if (res.status !== 204 && res.status !== 200 && res.status !== 404) left.push(`the SSH key on ${key.bitbucketAccount}: HTTP ${res.status}`);
    } catch (err) {
      left.push(`the SSH key on ${key.bitbucketAccount}: ${(err as Error).message}`);
    }
  }
  await revokeTenant(models, tenant, revokers);
  await models.CloudWebhook.destroy({ where: { tenantId: tenant.id } });
  await models.OAuthConnection.destroy({ where: { tenantId: tenant.id } });
  return { leftOnBitbucket: left };
}
