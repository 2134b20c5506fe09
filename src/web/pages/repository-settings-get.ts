import type { Request, Response } from "express";
import { issuerUrl } from "../../oidc/oidc-issuer";
import { workspaceAudience } from "../../oidc/step-identity";
import { CONFIGURE_SCRIPTS, CONFIGURE_STYLES } from "./configure-get";
import { applicationsView } from "./configure-view";
import { environmentsSettingsView } from "./environments-settings-view";
import { pageAuthOf } from "./page-auth";
import { pageChrome } from "./page-chrome";
import type { PageDeps } from "./page-deps";
import { setPageHeaders } from "./page-headers";
import { repositoryApplication } from "./repository-application";
import { repositoryOf } from "./repository-param";

/**
 * GET /pages/settings — one repository's settings (a repository settings page, where Bitbucket puts an app's settings
 * of a repository): its application's switches, branch filter and variables, its deployment environments with their
 * variables, and the workspace's OpenID Connect issuer. The sections, their models and their scripts are the configure
 * page's, limited to this repository; every change goes through the JSON API with the door's authorization.
 */
export function repositorySettingsGet(deps: PageDeps) {
  return async (req: Request, res: Response) => {
    const auth = pageAuthOf(res);
    const { tenant } = auth;
    const repo = repositoryOf(req);
    const { models } = deps.ctx;
    const app = await repositoryApplication(models, tenant, repo);
    const [applications, environmentApps] = app ? await Promise.all([applicationsView(models, tenant, app), environmentsSettingsView(models, tenant, app)]) : [[], []];
    setPageHeaders(res, auth);
    res.render("repository-settings", {
      ...pageChrome(deps, auth, `Settings of ${repo.fullName}`, CONFIGURE_SCRIPTS),
      styles: CONFIGURE_STYLES,
      repository: app?.repository ?? repo.fullName,
      applications,
      environmentApps,
      oidc: { issuer: issuerUrl(deps.baseUrl, tenant), audience: workspaceAudience(tenant) },
    });
  };
}
