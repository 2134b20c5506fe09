import { hostScriptUrl } from "./host-script";
import type { PageAuth } from "./page-auth";
import type { PageDeps } from "./page-deps";

/**
 * What every page's layout needs: the title, where the app's assets are, the page's scripts; inside Bitbucket its
 * AP script, standalone the tenant the page's script names in `X-Pipelines-Tenant` (and no AP script).
 */
export function pageChrome(deps: PageDeps, auth: PageAuth, title: string, scripts: string[], bodyClass?: string) {
  return {
    title,
    baseUrl: deps.baseUrl,
    hostScriptUrl: auth.standalone ? undefined : hostScriptUrl(auth.tenant.baseUrl),
    standalone: auth.standalone ? { tenantId: auth.tenant.id, workspace: auth.tenant.principalName ?? "" } : undefined,
    scripts,
    bodyClass,
  };
}
