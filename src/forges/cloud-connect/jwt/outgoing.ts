import type { KeyObject } from "node:crypto";
import { qshOfUrl } from "./qsh";
import { signHs256 } from "./token";

/** How long a token the app signs for one call to Bitbucket stays valid. */
const OUTGOING_TOKEN_SECONDS = 180;

/**
 * The Authorization header value for one call from the app to a tenant's Bitbucket: a JWT with
 * iss = the app key, sub = the tenant's clientKey, and the qsh of exactly this call relative to `baseUrl`
 * (the tenant's baseApiUrl for REST calls, its baseUrl for site calls such as the token endpoint).
 */
export function outgoingAuthorization(opts: {
  appKey: string;
  clientKey: string;
  key: KeyObject | string;
  method: string;
  url: string;
  baseUrl: string;
  now?: number;
}): string {
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const token = signHs256(
    { iss: opts.appKey, sub: opts.clientKey, iat, exp: iat + OUTGOING_TOKEN_SECONDS, qsh: qshOfUrl(opts.method, opts.url, opts.baseUrl) },
    opts.key,
  );
  return `JWT ${token}`;
}
