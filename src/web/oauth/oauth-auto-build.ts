import type { Application, Models, Tenant } from "../../db/models";
import type { CloudCaller } from "../../forges/cloud/cloud-caller";
import { disableCloudWebhook, enableCloudWebhook } from "../../forges/cloud-oauth/oauth-webhooks";

/**
 * The API's auto-build hook for OAuth tenants: on → the repository webhook is created; off (or the application
 * deleted) → it is deleted. Other kinds get their webhooks elsewhere (Connect: the descriptor).
 */
export function oauthAutoBuildChanged(models: Models, callerFor: (tenant: Tenant) => CloudCaller, baseUrl: string) {
  return async (tenant: Tenant, app: Application, on: boolean): Promise<void> => {
    if (tenant.kind !== "cloud-oauth") return;
    const caller = callerFor(tenant);
    if (on) await enableCloudWebhook(models, caller, tenant, app, baseUrl);
    else await disableCloudWebhook(models, caller, tenant, app.repository);
  };
}
