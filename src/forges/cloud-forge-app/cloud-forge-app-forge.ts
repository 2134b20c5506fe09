import type { Models, Tenant } from "../../db/models";
import { cloudRestForge } from "../cloud/cloud-rest-forge";
import { ForgeUnavailableError, type CloneAccess, type Forge } from "../forge";
import { forgeCaller } from "./forge-caller";
import { installationActive } from "./forge-installations";
import { parseForgeEvent } from "./parse-forge-event";
import { newestToken } from "./system-token";

/** The module key of the builds page (bitbucket:repoMainMenuPage) in forge/manifest.yml. */
export const BUILDS_PAGE_MODULE = "pipelines-builds";

/**
 * Bitbucket Cloud through the operator's Forge app (tenants of kind "forge"): REST with the installation's newest
 * system token to the API base URL Forge gave, git over https with the same token (`x-token-auth`), deliveries are
 * Forge's event bodies, and a build is shown on the app's builds page inside Bitbucket. Whether a person of a page
 * (the invocation token's `principal`, an account id) administers a repository is asked like the Connect door asks
 * (`…/permissions/repositories/{slug}?q=user.account_id=…`), with the system token.
 */
export function cloudForgeAppForge(models: Models, siteUrl: string): Forge {
  const site = siteUrl.replace(/\/+$/, "");
  return cloudRestForge({
    caller: async (tenant) => forgeCaller(models, tenant),
    siteUrl: () => site,
    canPost: (tenant) => installationActive(models, tenant),
    parseDelivery: parseForgeEvent,

    async cloneAccess(tenant, repository): Promise<CloneAccess> {
      const current = await newestToken(models, tenant);
      if (!current || current.expiresAt.getTime() <= Date.now()) {
        throw new ForgeUnavailableError("no unexpired system token of the Forge installation: waiting for Forge's next call", { error: "network" });
      }
      const basic = Buffer.from(`x-token-auth:${current.token}`).toString("base64");
      return { url: `${site}/${repository}.git`, extraHeader: `Authorization: Basic ${basic}` };
    },

    buildPageUrl(tenant: Tenant, repository, build) {
      return forgeBuildsPageUrl(site, tenant, repository, build);
    },
  });
}

/**
 * The app's builds page inside Bitbucket (`/{workspace}/{repository}/forge/{app uuid}/{environment}/{module key}`, the
 * address Bitbucket gives a repoMainMenuPage), with `?build=` naming the build. A Forge tenant's `appKey` is
 * `{app uuid}/{environment key}` (see forgeAppKey).
 */
export function forgeBuildsPageUrl(site: string, tenant: Tenant, repository: string, build: { id: number }): string {
  const appKey = tenant.appKey && /^[0-9a-f-]{36}\/[a-z_-]{1,32}$/.test(tenant.appKey) ? tenant.appKey : "app/production";
  const u = new URL(`${site}/${repository.split("/").map(encodeURIComponent).join("/")}/forge/${appKey}/${BUILDS_PAGE_MODULE}`);
  if (build.id) u.searchParams.set("build", String(build.id));
  return u.toString();
}
