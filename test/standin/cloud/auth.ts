import { canonicalRequest, qshOfUrl } from "../../../src/forges/cloud-connect/jwt/qsh";
import { decodeUnverified, hasValidHs256Signature, hmacKey, TokenFormatError } from "../../../src/forges/cloud-connect/jwt/token";
import type { InstallRecord, State } from "./state";
import type { AccessToken, TokenStore } from "./tokens";
import type { AuthKind } from "./types";

/**
 * How Bitbucket checks the credentials the app sends: a Connect JWT (iss = app key, sub = clientKey, HS256
 * with the installation's current secret, unexpired, qsh of exactly this request), or an access token from
 * the JWT grant (Bearer, or Basic x-token-auth for git).
 */

export type AuthOutcome =
  | { ok: true; kind: AuthKind; install: InstallRecord; token?: AccessToken }
  | { ok: false; kind: AuthKind | null; clientKey: string | null; message: string };

function fail(kind: AuthKind | null, clientKey: string | null, message: string): AuthOutcome {
  return { ok: false, kind, clientKey, message };
}

/** Verifies a Connect JWT sent by the app for `method url`, with the qsh relative to `baseUrl`. */
export function verifyAppJwt(state: State, token: string, method: string, url: string, baseUrl: string): AuthOutcome {
  let decoded;
  try {
    decoded = decodeUnverified(token);
  } catch (err) {
    if (err instanceof TokenFormatError) return fail("jwt", null, `Could not parse the JWT: ${err.message}`);
    throw err;
  }
  const { claims } = decoded;
  if (decoded.header.alg !== "HS256") return fail("jwt", null, `JWT algorithm ${String(decoded.header.alg)} is not accepted; use HS256`);
  if (typeof claims.sub !== "string" || !claims.sub) return fail("jwt", null, "The JWT has no sub claim (it must be the clientKey of the installation)");
  const install = state.installs.get(claims.sub);
  if (!install) return fail("jwt", claims.sub, `No installation with clientKey ${claims.sub} (JWT sub claim)`);
  if (!install.installed) return fail("jwt", claims.sub, `The app is not installed for clientKey ${claims.sub}`);
  if (claims.iss !== install.appKey) return fail("jwt", claims.sub, `JWT iss must be the app key "${install.appKey}", got ${JSON.stringify(claims.iss)}`);
  const secret = install.secrets.at(-1);
  if (!secret || !hasValidHs256Signature(decoded, hmacKey(secret))) {
    return fail("jwt", claims.sub, "JWT signature does not match the current shared secret of this installation");
  }
  if (typeof claims.exp !== "number") return fail("jwt", claims.sub, "The JWT has no exp claim");
  if (claims.exp * 1000 <= Date.now()) return fail("jwt", claims.sub, "The JWT has expired");
  const expected = qshOfUrl(method, url, baseUrl);
  if (claims.qsh !== expected) {
    const target = new URL(url);
    const canonical = canonicalRequest(method, target.pathname, target.search, new URL(baseUrl).pathname);
    return fail("jwt", claims.sub, `JWT qsh does not match this request (expected the hash of "${canonical}")`);
  }
  return { ok: true, kind: "jwt", install };
}

/** Checks an access token and the installation it belongs to. */
export function verifyAccessToken(state: State, tokens: TokenStore, value: string, kind: "bearer" | "basic"): AuthOutcome {
  const found = tokens.lookup(value);
  if (!found.ok) return fail(kind, found.clientKey, found.reason);
  const install = state.installs.get(found.token.clientKey);
  if (!install || !install.installed) return fail(kind, found.token.clientKey, "Access token is invalid (the app is not installed).");
  return { ok: true, kind, install, token: found.token };
}

/** Splits an Authorization header into its scheme (lower-cased) and credentials. */
export function parseAuthorization(header: string | undefined): { scheme: string; value: string } | null {
  if (!header) return null;
  const m = /^\s*(\S+)\s+(.+?)\s*$/.exec(header);
  if (!m) return null;
  return { scheme: m[1].toLowerCase(), value: m[2] };
}

/** The token of `Basic base64(x-token-auth:<token>)`, or null. */
export function basicTokenAuth(value: string): string | null {
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0 || decoded.slice(0, colon) !== "x-token-auth") return null;
  return decoded.slice(colon + 1) || null;
}
