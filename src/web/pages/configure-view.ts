import type { Models, Tenant } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";
import { PIPELINES_SCOPES, scopeInfo } from "../../scopes/catalogue";
import { effectiveScopes } from "../../scopes/effective-scopes";
import type { GrantedScopesCheck } from "../../scopes/check-granted-scopes";
import { publicKeyInfo } from "../../tenants/ssh-key-store";
import type { Application, TenantSshKey } from "../../db/models";

/**
 * How the configure page shows the SSH key: the public half and where it was added ("your account" when it is one
 * of `pageUsers`, the user the page was signed for), never the private half.
 */
export function sshKeyView(row: TenantSshKey, pageUsers: (string | undefined)[]) {
  const info = publicKeyInfo(row);
  return {
    publicKey: info.publicKey,
    fingerprint: info.fingerprint,
    added: info.bitbucketAccount
      ? { yours: pageUsers.some((u) => u !== undefined && u === info.bitbucketAccount), on: info.addedToBitbucketAt ? info.addedToBitbucketAt.toISOString().slice(0, 10) : null }
      : null,
  };
}

export type ScopeState = "granted" | "missing" | "unknown";

/** The permissions table: each scope Pipelines requires, and whether Bitbucket granted it (or "unknown"). */
export function permissionsView(check: GrantedScopesCheck) {
  const have = check.outcome === "checked" ? new Set(effectiveScopes(check.granted)) : null;
  const rows = PIPELINES_SCOPES.map((scope) => {
    const info = scopeInfo(scope);
    const state: ScopeState = have === null ? "unknown" : have.has(scope) ? "granted" : "missing";
    return { scope, area: info?.area ?? "", access: info?.access ?? "", approval: info?.approval ?? "", why: info?.why ?? "", state };
  });
  if (check.outcome !== "checked") {
    return { checked: false, rows, summary: `Could not check what Bitbucket granted: ${check.message}. The table shows what Pipelines asks for.` };
  }
  const missing = check.missing.length;
  return {
    checked: true,
    rows,
    granted: check.granted.join(" ") || "(nothing)",
    missingCount: missing,
    summary: missing === 0 ? "Bitbucket granted every scope Pipelines needs." : `${missing} scope${missing === 1 ? " is" : "s are"} missing: the features named below do not work until an administrator approves them (update or re-install the app).`,
  };
}

/**
 * The tenant's applications (or only `only`) with their switches, branch filter and variables (secured values never
 * leave the service: shown as ••••).
 */
export async function applicationsView(models: Models, tenant: Tenant, only?: Application) {
  const [apps, vars] = await Promise.all([
    only ? [only] : models.Application.findAll({ where: { tenantId: tenant.id }, order: [["repository", "ASC"]] }),
    models.ApplicationVariable.findAll({ where: { tenantId: tenant.id, ...(only ? { applicationId: only.id } : {}) }, order: [["name", "ASC"]] }),
  ]);
  return apps.map((app) => ({
    id: app.id,
    repository: app.repository,
    autoBuild: app.autoBuild,
    autoCancel: app.autoCancel,
    branchFilter: app.branchFilter ?? "",
    variables: vars
      .filter((v) => v.applicationId === app.id)
      .map((v) => ({ name: v.name, secured: v.secured, value: v.secured ? null : revealSecret(v, "value") })),
  }));
}
