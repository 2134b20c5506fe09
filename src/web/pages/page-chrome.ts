import type { Tenant } from "../../db/models";
import { hostScriptUrl } from "./host-script";
import type { PageDeps } from "./page-deps";

/** What every page's layout needs: the title, where the app's assets are, Bitbucket's AP script, the page's scripts. */
export function pageChrome(deps: PageDeps, tenant: Tenant, title: string, scripts: string[], bodyClass?: string) {
  return { title, baseUrl: deps.baseUrl, hostScriptUrl: hostScriptUrl(tenant.baseUrl), scripts, bodyClass };
}
