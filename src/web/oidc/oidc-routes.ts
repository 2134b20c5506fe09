import { Router } from "express";
import { asyncHandler } from "../../http/async-handler";
import { ISSUER_PATH, type OidcIssuer } from "../../oidc/oidc-issuer";
import { jwksGet } from "./jwks-get";
import { openidConfigurationGet } from "./openid-configuration-get";

/** The OpenID Connect issuers of step tokens: discovery and keys per workspace, public. */
export function oidcRoutes(oidc: OidcIssuer): Router {
  const r = Router();
  r.get(`${ISSUER_PATH}/.well-known/openid-configuration`, asyncHandler(openidConfigurationGet(oidc)));
  r.get(`${ISSUER_PATH}/.well-known/jwks.json`, asyncHandler(jwksGet(oidc)));
  r.get(`${ISSUER_PATH}/keys.json`, asyncHandler(jwksGet(oidc)));
  return r;
}
