import type { Config } from "../config/load-config";
import type { Models, Tenant } from "../db/models";
import type { TenantKind } from "../db/models/tenant";
import { cloudConnectForge, connectCaller } from "./cloud-connect/cloud-connect-forge";
import type { CloudCaller } from "./cloud/cloud-caller";
import { oauthCaller } from "./cloud-oauth/oauth-caller";
import { HttpError } from "../http/http-error";
import type { Forge } from "./forge";
import { serverForge } from "./server/server-forge";
import { cloudOAuthForge } from "./cloud-oauth/cloud-oauth-forge";
import { oauthSettings } from "./cloud-oauth/oauth-settings";
import { cloudForgeAppForge } from "./cloud-forge-app/cloud-forge-app-forge";
import { forgeCaller } from "./cloud-forge-app/forge-caller";

export type ForgeFor = (tenant: Tenant) => Forge;

/** The forge of each kind of tenant; the only place that knows which kinds exist. */
export function forgeRegistry(models: Models, config?: Config): ForgeFor {
  const forges: Partial<Record<TenantKind, Forge>> = { "cloud-connect": cloudConnectForge(models), server: serverForge(models, config?.baseUrl) };
  const oauth = config && oauthSettings(config);
  if (config && oauth) forges["cloud-oauth"] = cloudOAuthForge(models, oauth, config.baseUrl);
  if (config?.forgeAppId) forges.forge = cloudForgeAppForge(models, config.bitbucketUrl);
  return (tenant) => {
    const forge = forges[tenant.kind];
    if (!forge) throw new Error(`no forge for installations of kind ${tenant.kind}`);
    return forge;
  };
}

/** The Bitbucket Cloud API of a tenant, by kind: the app's JWT (Connect), the connection's bearer token (OAuth), the Forge app's system token. */
export function cloudCallerRegistry(models: Models, config: Config): (tenant: Tenant) => CloudCaller {
  const oauth = oauthSettings(config);
  return (tenant) => {
    if (tenant.kind === "cloud-oauth" && oauth) return oauthCaller(models, oauth, tenant);
    if (tenant.kind === "cloud-connect") return connectCaller(tenant);
    if (tenant.kind === "forge" && config.forgeAppId) return forgeCaller(models, tenant);
    throw new HttpError(409, `this ${tenant.kind} connection cannot call Bitbucket Cloud's API`);
  };
}
