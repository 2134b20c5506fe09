import { qshOf, CONTEXT_QSH } from "../../src/forges/cloud-connect/jwt/qsh";
import { signHs256, type ConnectClaims } from "../../src/forges/cloud-connect/jwt/token";

/**
 * Mints the tokens Bitbucket would send: iss = aud = clientKey, iat now, exp in an hour, the qsh of the request
 * (or `context-qsh` for a context token). `claims` overrides anything.
 */
export function mintToken(opts: {
  clientKey: string;
  secret: string;
  method?: string;
  path?: string;
  query?: string;
  context?: boolean;
  claims?: Partial<ConnectClaims>;
}): string {
  const iat = Math.floor(Date.now() / 1000);
  const qsh = opts.context ? CONTEXT_QSH : qshOf(opts.method ?? "GET", opts.path ?? "/", opts.query ?? "");
  return signHs256({ iss: opts.clientKey, aud: opts.clientKey, iat, exp: iat + 3600, qsh, ...(opts.claims ?? {}) }, opts.secret);
}

/** A token with an arbitrary header (alg none, RS256…) and an HS256-looking signature made with `secret`. */
export function tokenWithHeader(header: object, claims: object, signature = "c2lnbmF0dXJl"): string {
  const b = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b(header)}.${b(claims)}.${signature}`;
}
