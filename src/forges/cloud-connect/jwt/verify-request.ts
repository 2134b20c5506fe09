import type { NextFunction, Request, RequestHandler, Response } from "express";
import { unauthorized } from "../../../http/http-error";
import type { Models, Tenant } from "../../../db/models";
import { sharedSecretKey } from "../../../tenants/tenant-keys";
import type { TenantLookup } from "../../../tenants/tenant-lookup";
import { CONTEXT_QSH, qshOf } from "./qsh";
import { decodeUnverified, hasValidHs256Signature, TokenFormatError, type ConnectClaims, type DecodedToken } from "./token";
import { setTenantAuth } from "../../../http/tenant-auth";

/**
 * The two kinds of Connect token:
 * - `normal`: sent by Bitbucket itself (webhooks, lifecycle, iframe URLs); its qsh must be the hash of exactly
 *   this request.
 * - `context`: from `AP.context.getToken()` in one of our pages; its qsh is the literal `context-qsh`, so it
 *   proves who the user and tenant are but not what the request is. Only routes meant for page actions take it.
 */
export type TokenKind = "normal" | "context";

/** Seconds of clock difference tolerated on exp, iat and nbf. */
export const CLOCK_LEEWAY_SECONDS = 30;

export interface ConnectAuth {
  tenant: Tenant;
  claims: ConnectClaims;
  kind: TokenKind;
}

export interface VerifyDeps {
  models: Models;
  /** Where tenants are read from on hot paths (webhooks); the database itself when absent. */
  tenants?: TenantLookup;
  /** Path of the app's base URL (qsh paths are relative to it), "" when the app is served at the root. */
  basePath: string;
  now?: () => number;
}

/** Reads the token of a request: `Authorization: JWT <token>` or `?jwt=` (iframe URLs), never both. */
export function tokenOf(req: Request): string {
  const header = req.headers.authorization;
  const fromHeader = header?.startsWith("JWT ") ? header.slice(4).trim() : undefined;
  const q = req.query.jwt;
  const fromQuery = typeof q === "string" ? q : undefined;
  if (Array.isArray(q)) throw unauthorized("the jwt query parameter is given more than once");
  if (fromHeader && fromQuery) throw unauthorized("a token is given both in the Authorization header and the query; send one");
  const token = fromHeader ?? fromQuery;
  if (!token) throw unauthorized("this request needs a Connect JWT (Authorization: JWT <token>)");
  return token;
}

/** Decodes the request's token, refusing anything that is not HS256 before a key is looked up. */
export function decodeRequestToken(req: Request): DecodedToken {
  const token = tokenOf(req);
  let decoded: DecodedToken;
  try {
    decoded = decodeUnverified(token);
  } catch (err) {
    if (err instanceof TokenFormatError) throw unauthorized(`malformed JWT: ${err.message}`);
    throw err;
  }
  if (decoded.header.alg !== "HS256") throw unauthorized(`JWT algorithm ${JSON.stringify(decoded.header.alg ?? null)} is not accepted; Connect tokens are HS256`);
  return decoded;
}

/** The clientKeys a token may belong to: `iss`, then `aud[0]`. */
export function candidateKeys(claims: ConnectClaims): string[] {
  const keys: string[] = [];
  if (typeof claims.iss === "string") keys.push(claims.iss);
  const aud = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
  if (typeof aud === "string" && !keys.includes(aud)) keys.push(aud);
  return keys;
}

/**
 * Checks a decoded token against the tenant it names, whatever the tenant's status: signature with the stored
 * secret, exp / iat / nbf with a small leeway, and the qsh rule of `kind`. Throws a 401 HttpError.
 */
export function checkToken(decoded: DecodedToken, tenant: Tenant, req: Request, kind: TokenKind, deps: VerifyDeps): void {
  const key = sharedSecretKey(tenant);
  if (!key || !hasValidHs256Signature(decoded, key)) throw unauthorized("the JWT signature does not match the shared secret stored for this tenant");
  const { claims } = decoded;
  const now = Math.floor((deps.now ? deps.now() : Date.now()) / 1000);
  if (typeof claims.exp !== "number") throw unauthorized("the JWT has no exp claim");
  if (claims.exp + CLOCK_LEEWAY_SECONDS < now) throw unauthorized("the JWT has expired");
  if (typeof claims.iat !== "number") throw unauthorized("the JWT has no iat claim");
  if (claims.iat - CLOCK_LEEWAY_SECONDS > now) throw unauthorized("the JWT was issued in the future (iat)");
  if (typeof claims.nbf === "number" && claims.nbf - CLOCK_LEEWAY_SECONDS > now) throw unauthorized("the JWT is not valid yet (nbf)");

  if (kind === "context") {
    if (claims.qsh !== CONTEXT_QSH) throw unauthorized('this route takes a context token (qsh "context-qsh") from AP.context.getToken()');
  } else {
    if (claims.qsh === CONTEXT_QSH) throw unauthorized("a context token is not accepted here; this route takes a token signed for this request");
    const q = req.originalUrl.indexOf("?");
    const path = q < 0 ? req.originalUrl : req.originalUrl.slice(0, q);
    const query = q < 0 ? "" : req.originalUrl.slice(q + 1);
    if (claims.qsh !== qshOf(req.method, path, query, deps.basePath)) {
      throw unauthorized("the JWT qsh does not match this request (method, path or query differ)");
    }
  }
}

/** Verifies a Connect token for this request against an active tenant; throws a 401 HttpError naming what is wrong. */
export async function verifyConnectRequest(req: Request, kind: TokenKind, deps: VerifyDeps): Promise<ConnectAuth> {
  const decoded = decodeRequestToken(req);
  const verify = async (find: (clientKey: string) => Promise<Tenant | null>): Promise<ConnectAuth> => {
    let tenant: Tenant | null = null;
    for (const clientKey of candidateKeys(decoded.claims)) {
      tenant = await find(clientKey);
      if (tenant) break;
    }
    if (!tenant) throw unauthorized("the JWT issuer is not an installed tenant");
    if (tenant.status !== "active") throw unauthorized("the JWT issuer has uninstalled Pipelines");
    checkToken(decoded, tenant, req, kind, deps);
    return { tenant, claims: decoded.claims, kind };
  };
  const fromDatabase = (clientKey: string) => deps.models.Tenant.findOne({ where: { clientKey, kind: "cloud-connect" } });
  const cache = deps.tenants;
  if (!cache) return verify(fromDatabase);
  try {
    return await verify((clientKey) => cache.find(clientKey));
  } catch {
    // The cached tenant may be a moment old (another process rotated its secret, re-installed it): ask the
    // database before refusing.
    for (const clientKey of candidateKeys(decoded.claims)) cache.forget(clientKey);
    return verify((clientKey) => cache.find(clientKey));
  }
}

/** Express middleware: verifies, then puts the result on `res.locals.connect`. */
export function connectJwt(kind: TokenKind, deps: VerifyDeps): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    verifyConnectRequest(req, kind, deps).then(
      (auth) => {
        res.locals.connect = auth;
        setTenantAuth(res, { tenant: auth.tenant, user: typeof auth.claims.sub === "string" ? auth.claims.sub : null, via: "connect" });
        next();
      },
      (err: unknown) => next(err),
    );
  };
}

export function connectAuthOf(res: Response): ConnectAuth {
  const auth = res.locals.connect as ConnectAuth | undefined;
  if (!auth) throw new Error("connectJwt middleware did not run for this route");
  return auth;
}
