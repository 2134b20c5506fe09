import type { Request, Response } from "express";
import { notFound } from "../../http/http-error";
import type { OidcIssuer } from "../../oidc/oidc-issuer";
import { OIDC_CACHE_CONTROL } from "./openid-configuration-get";

/**
 * GET /oidc/workspaces/:issuerId/.well-known/jwks.json (the discovery document's jwks_uri), also at `…/keys.json`
 * where Bitbucket serves its own — the issuer's public signing keys (`kid`, `alg: RS256`, `use: sig`; never a private
 * part). Cached for five minutes: a new key is published a day before it signs. No authentication; an issuer id that
 * names no active tenant is a 404.
 */
export function jwksGet(oidc: OidcIssuer) {
  return async (req: Request, res: Response) => {
    const tenant = await oidc.tenantOf(req.params.issuerId);
    if (!tenant) throw notFound("no such OpenID Connect issuer");
    const jwks = await oidc.jwks(tenant);
    res.setHeader("Cache-Control", OIDC_CACHE_CONTROL);
    res.type("application/jwk-set+json").send(JSON.stringify(jwks));
  };
}
