import type { Tenant } from "../db/models";
import { sharedSecretKey } from "../tenants/tenant-keys";
import { connectCaller } from "../forges/cloud-connect/cloud-connect-forge";
import type { CloudCaller } from "../forges/cloud/cloud-caller";
import { PIPELINES_SCOPES } from "./catalogue";
import { missingScopes, type MissingScope } from "./compare-scopes";
import { parseScopeHeader } from "./effective-scopes";

/** What one authenticated call to the tenant's API told us about the scopes Bitbucket granted. */
export type GrantedScopesCheck =
  /** Bitbucket answered with an `X-OAuth-Scopes` header: `missing` lists what `required` lacks. */
  | { outcome: "checked"; status: number; granted: string[]; missing: MissingScope[] }
  /** Not an active Connect installation with an API URL: there is nothing to call. */
  | { outcome: "not-connect"; message: string }
  /** Bitbucket refused the app's own credentials (401, or 403 without a scope header). */
  | { outcome: "refused"; status: number; message: string }
  /** Bitbucket answered without saying what it granted. */
  | { outcome: "no-header"; status: number; message: string }
  /** Bitbucket could not be reached (connection refused, timeout). */
  | { outcome: "unreachable"; message: string };

/**
 * Calls the tenant's API once with its own credentials (a repository list of one, which every installation or
 * connection may read) and reads the scopes Bitbucket granted from `X-OAuth-Scopes`. A 403 that carries the header
 * still tells what is granted (it may be a scope that is missing). Never throws for a network failure: the configure
 * page must render anyway. `callerFor` gives the tenant's Cloud API (Connect JWT or OAuth token); without one (a
 * Bitbucket Server connection) there is nothing to check.
 */
export async function checkGrantedScopes(
  tenant: Tenant,
  opts: { required?: readonly string[]; timeoutMs?: number; callerFor?: (tenant: Tenant) => CloudCaller } = {},
): Promise<GrantedScopesCheck> {
  let caller: CloudCaller;
  try {
    if (!tenant.principalUuid || !tenant.baseApiUrl) throw new Error("no API URL");
    if (opts.callerFor) caller = opts.callerFor(tenant);
    else if (tenant.kind === "cloud-connect" && sharedSecretKey(tenant)) caller = connectCaller(tenant);
    else throw new Error("no Cloud API");
  } catch {
    return { outcome: "not-connect", message: `${tenant.clientKey} is not a Bitbucket Cloud installation or connection with an API URL` };
  }
  let res;
  try {
    res = await caller.request("GET", `/2.0/repositories/${encodeURIComponent(tenant.principalUuid)}?pagelen=1`, { timeoutMs: opts.timeoutMs });
  } catch (err) {
    const e = err as Error;
    const why = e.name === "TimeoutError" ? "it did not answer in time" : (e.cause as Error | undefined)?.message ?? e.message;
    return { outcome: "unreachable", message: `could not reach Bitbucket's API: ${why}` };
  }
  const header = res.headers.get("x-oauth-scopes");
  if (res.status === 401 || (res.status === 403 && header === null)) {
    return { outcome: "refused", status: res.status, message: `Bitbucket refused the app's credentials for ${tenant.clientKey} (HTTP ${res.status})` };
  }
  if (header === null) {
    return { outcome: "no-header", status: res.status, message: `Bitbucket answered HTTP ${res.status} without an X-OAuth-Scopes header: cannot tell what is granted` };
  }
  const granted = parseScopeHeader(header);
  return { outcome: "checked", status: res.status, granted, missing: missingScopes(granted, opts.required ?? PIPELINES_SCOPES) };
}
