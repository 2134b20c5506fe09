import type { Request, Response } from "express";
import type { Models, Tenant } from "../../db/models";
import type { CloudCaller } from "../../forges/cloud/cloud-caller";
import { issuerUrl } from "../../oidc/oidc-issuer";
import { workspaceAudience } from "../../oidc/step-identity";
import { checkGrantedScopes } from "../../scopes/check-granted-scopes";
import { tenantSshKey } from "../../tenants/ssh-key-store";
import { setPageHeaders } from "./page-headers";
import { hostScriptUrl } from "./host-script";
import { pageAuthOf } from "./page-auth";
import { applicationsView, permissionsView, sshKeyView } from "./configure-view";
import { environmentsSettingsView } from "./environments-settings-view";

/** The configure page's scripts and styles (from /static), the same on every page that shows its sections. */
export const CONFIGURE_SCRIPTS = ["configure.js", "environments-settings.js"];
export const CONFIGURE_STYLES = ["configure.css"];

/** How long the page waits for Bitbucket to say which scopes it granted before it shows "could not check". */
const SCOPE_CHECK_TIMEOUT_MS = 3_000;

/**
 * GET /pages/configure — the app's configure page for the workspace it is installed in: the workspace's SSH public
 * key (generated on first visit), its OpenID Connect issuer and audience, the permissions Bitbucket granted (one API call; Bitbucket being down is shown,
 * not fatal), application variables, Bitbucket Server credentials (not available yet) and how to revoke access. The
 * same page standalone at /app/:workspace/settings behind the session.
 */
export function configureGet(appBaseUrl: string, models: Models, callerFor?: (tenant: Tenant) => CloudCaller) {
  return async (req: Request, res: Response) => {
    const auth = pageAuthOf(res);
    const { tenant } = auth;
    const [key, scopes, applications, environmentApps] = await Promise.all([
      tenantSshKey(models, tenant),
      checkGrantedScopes(tenant, { timeoutMs: SCOPE_CHECK_TIMEOUT_MS, callerFor }),
      applicationsView(models, tenant),
      environmentsSettingsView(models, tenant),
    ]);
    setPageHeaders(res, auth);
    res.render("configure", {
      title: "Configure",
      workspace: tenant.principalName ?? tenant.principalUuid,
      // The user the page is opened for: the token's sub or the session's user; inside Bitbucket also
      // `userUuid={user.uuid}` of the (signed) page URL.
      sshKey: sshKeyView(key, [auth.user ?? undefined, !auth.standalone && typeof req.query.userUuid === "string" ? req.query.userUuid : undefined]),
      permissions: permissionsView(scopes),
      applications,
      environmentApps,
      // What a resource server (AWS, GCP, Vault) needs to trust this workspace's step tokens.
      oidc: { issuer: issuerUrl(appBaseUrl, tenant), audience: workspaceAudience(tenant) },
      baseUrl: appBaseUrl,
      scripts: CONFIGURE_SCRIPTS,
      styles: CONFIGURE_STYLES,
      hostScriptUrl: auth.standalone ? undefined : hostScriptUrl(tenant.baseUrl),
      standalone: auth.standalone ? { tenantId: tenant.id, workspace: tenant.principalName ?? "" } : undefined,
    });
  };
}
