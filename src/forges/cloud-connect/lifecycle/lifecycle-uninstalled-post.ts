import type { Request, RequestHandler, Response } from "express";
import { badRequest, unauthorized } from "../../../http/http-error";
import { revokeTenant, type TenantRevoker } from "../../../tenants/revoke-tenant";
import { candidateKeys, checkToken, decodeRequestToken } from "../jwt/verify-request";
import type { LifecycleDeps } from "./lifecycle-installed-post";

/**
 * POST /uninstalled — ACE has no route for it. Signed with the stored secret; revokes everything the tenant gave
 * us. Repeating it (Bitbucket retries) answers 204 again without doing anything more.
 */
export function lifecycleUninstalledPost(deps: LifecycleDeps & { revokers: TenantRevoker[] }): RequestHandler {
  return async (req: Request, res: Response) => {
    const decoded = decodeRequestToken(req);
    const body = req.body as { clientKey?: unknown } | undefined;
    const clientKey = body && typeof body.clientKey === "string" ? body.clientKey : undefined;
    if (!clientKey) throw badRequest("the uninstall payload has no clientKey");
    if (!candidateKeys(decoded.claims).includes(clientKey)) throw unauthorized("the JWT was not issued for this clientKey");
    const tenant = await deps.models.Tenant.findOne({ where: { clientKey, kind: "cloud-connect" } });
    if (!tenant) throw unauthorized("the JWT issuer is not an installed tenant");
    checkToken(decoded, tenant, req, "normal", deps);
    if (tenant.status === "active") {
      await revokeTenant(deps.models, tenant, deps.revokers);
      deps.log.info("tenant uninstalled: access revoked", { clientKey, tenantId: tenant.id });
    }
    deps.onTenantChanged?.(clientKey);
    res.status(204).end();
  };
}
