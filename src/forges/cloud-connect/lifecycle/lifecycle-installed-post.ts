import type { Request, RequestHandler, Response } from "express";
import { UniqueConstraintError } from "sequelize";
import type { Tenant } from "../../../db/models";
import { unauthorized } from "../../../http/http-error";
import type { Logger } from "../../../log/logger";
import { candidateKeys, checkToken, decodeRequestToken, type VerifyDeps } from "../jwt/verify-request";
import { parseInstallPayload, storablePayload, type InstallPayload } from "./install-payload";

export interface LifecycleDeps extends VerifyDeps {
  appKey: string;
  allowedHosts: string[];
  log: Logger;
  /** A tenant was installed, re-installed or uninstalled: caches of it must be dropped. */
  onTenantChanged?: (clientKey: string) => void;
}

/**
 * A later `installed` for a clientKey we have seen (a re-install, also after an uninstall) must be signed with
 * the secret we hold for it: Bitbucket signs it with the old secret, and the payload carries the new one.
 */
function verifyReinstall(req: Request, existing: Tenant, deps: LifecycleDeps): void {
  if (!req.headers.authorization) throw unauthorized("a re-install must be signed with the shared secret of the existing installation");
  const decoded = decodeRequestToken(req);
  if (!candidateKeys(decoded.claims).includes(existing.clientKey)) throw unauthorized("the JWT was not issued for this clientKey");
  checkToken(decoded, existing, req, "normal", deps);
}

function tenantFields(payload: InstallPayload) {
  return {
    kind: "cloud-connect" as const,
    clientKey: payload.clientKey,
    status: "active" as const,
    appKey: payload.key,
    baseUrl: payload.baseUrl,
    baseApiUrl: payload.baseApiUrl,
    principalUuid: payload.principal.uuid,
    principalName: payload.principal.username ?? payload.principal.display_name ?? null,
    principalType: payload.principal.type ?? null,
    sharedSecret: payload.sharedSecret,
    installPayload: storablePayload(payload),
    installedAt: new Date(),
    uninstalledAt: null,
  };
}

/** POST /installed — stores a new tenant, or rotates the secret of a known one after checking its signature. */
export function lifecycleInstalledPost(deps: LifecycleDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const payload = parseInstallPayload(req.body, deps);
    const existing = await deps.models.Tenant.findOne({ where: { clientKey: payload.clientKey } });
    if (existing) {
      verifyReinstall(req, existing, deps);
      await existing.update(tenantFields(payload));
      deps.log.info("tenant re-installed", { clientKey: payload.clientKey, tenantId: existing.id });
    } else {
      try {
        const created = await deps.models.Tenant.create(tenantFields(payload));
        deps.log.info("tenant installed", { clientKey: payload.clientKey, tenantId: created.id });
      } catch (err) {
        if (err instanceof UniqueConstraintError) throw unauthorized("this clientKey was installed concurrently; a re-install must be signed");
        throw err;
      }
    }
    deps.onTenantChanged?.(payload.clientKey);
    res.status(204).end();
  };
}
