import type { Tenant } from "../../db/models";
import { HttpError } from "../../http/http-error";
import { sharedSecretKey } from "../../tenants/tenant-keys";
import type { CloudApiTenant } from "./cloud-api";

/** The credentials to call a Connect tenant's API as the app; every URL comes from its install payload. */
export function connectApiTenant(tenant: Tenant): CloudApiTenant {
  const key = sharedSecretKey(tenant);
  if (tenant.kind !== "cloud-connect" || !key || !tenant.baseApiUrl || !tenant.appKey) {
    throw new HttpError(409, "this installation cannot call Bitbucket's API (not an active Connect installation)");
  }
  return { appKey: tenant.appKey, clientKey: tenant.clientKey, baseApiUrl: tenant.baseApiUrl, key };
}
