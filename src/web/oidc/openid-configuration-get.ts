import type { Request, Response } from "express";
import { notFound } from "../../http/http-error";
import type { OidcIssuer } from "../../oidc/oidc-issuer";

/** Relying parties read the document again after this long; it changes only if the base URL does. */
export const OIDC_CACHE_CONTROL = "public, max-age=300";

/**
 * GET /oidc/workspaces/:issuerId/.well-known/openid-configuration — the OpenID Provider metadata of a workspace's
 * issuer (issuer, jwks_uri, RS256, the claims of a step token). Public by design: no authentication. An issuer id
 * that names no active tenant is a 404.
 */
export function openidConfigurationGet(oidc: OidcIssuer) {
  return async (req: Request, res: Response) => {
    const tenant = await oidc.tenantOf(req.params.issuerId);
    if (!tenant) throw notFound("no such OpenID Connect issuer");
    res.setHeader("Cache-Control", OIDC_CACHE_CONTROL);
    res.json(oidc.discovery(tenant));
  };
}
