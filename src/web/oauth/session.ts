import { createHash, randomBytes } from "node:crypto";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { Op } from "sequelize";
import type { Models, OAuthSession } from "../../db/models";
import { HttpError, unauthorized } from "../../http/http-error";
import { setTenantAuth } from "../../http/tenant-auth";
import { serverGrantOf, serverMemberTenant } from "../server-login/server-grant";

/** A session lasts 12 hours; then "Connect Bitbucket" signs in again. */
export const SESSION_TTL_MS = 12 * 3600_000;
const COOKIE = "pipelines_session";
/** The header a page sends to say which connected workspace an API call is for (also forces a CORS preflight). */
export const TENANT_HEADER = "X-Pipelines-Tenant";

export function sha256(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

function cookieName(req: Request): string {
  // Over https the __Host- prefix pins the cookie to this host, path / and Secure.
  return req.secure ? `__Host-${COOKIE}` : COOKIE;
}

function readCookie(req: Request, name: string): string | null {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

/** Whether the request carries a session cookie at all (then the session door is tried rather than Connect's). */
export function hasSessionCookie(req: Request): boolean {
  return readCookie(req, cookieName(req)) !== null;
}

/** The unexpired session of this browser, or null. */
export async function currentSession(models: Models, req: Request): Promise<OAuthSession | null> {
  const value = readCookie(req, cookieName(req));
  if (!value || !/^[A-Za-z0-9_-]{20,100}$/.test(value)) return null;
  return models.OAuthSession.findOne({ where: { sessionHash: sha256(value), expiresAt: { [Op.gt]: new Date() } } });
}

/** A new session (its cookie set: HttpOnly, SameSite=Lax, Secure over https). The cookie value is never stored. */
export async function newSession(models: Models, req: Request, res: Response, who: { userUuid?: string; userName?: string; workspaceUuids?: string } = {}): Promise<OAuthSession> {
  const value = randomBytes(32).toString("base64url");
  const session = await models.OAuthSession.create({ sessionHash: sha256(value), expiresAt: new Date(Date.now() + SESSION_TTL_MS), ...who });
  res.cookie(cookieName(req), value, { httpOnly: true, sameSite: "lax", secure: req.secure, path: "/", maxAge: SESSION_TTL_MS });
  return session;
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(cookieName(req), { httpOnly: true, sameSite: "lax", secure: req.secure, path: "/" });
}

/** The workspace uuids a signed-in session may see (none for a Bitbucket Server session). */
export function sessionWorkspaces(session: OAuthSession): string[] {
  if (serverGrantOf(session)) return [];
  try {
    const list = JSON.parse(session.workspaceUuids ?? "[]") as unknown;
    return Array.isArray(list) ? list.filter((v): v is string => typeof v === "string") : [];
  } catch {
    return [];
  }
}

/**
 * The connected workspace `raw` (a tenant id) if the session's user belongs to it; any other (another user's, a
 * Connect installation, a disconnected one) is a 404, exactly like another tenant's rows.
 */
async function memberTenant(models: Models, session: OAuthSession, raw: string, from: string, req: Request) {
  const grant = serverGrantOf(session);
  if (grant) return serverMemberTenant(models, grant, raw, from, req);
  if (!/^\d{1,12}$/.test(raw)) throw new HttpError(400, `${from} must name a connected workspace (its id)`);
  const tenant = await models.Tenant.findByPk(Number(raw));
  if (!tenant || tenant.kind !== "cloud-oauth" || tenant.status !== "active" || !sessionWorkspaces(session).includes(tenant.principalUuid ?? "")) {
    throw new HttpError(404, "no connected workspace of yours has this id");
  }
  return tenant;
}

/**
 * The session door to the JSON API: a signed-in session, and the `X-Pipelines-Tenant` header naming a connected
 * workspace the session's user belongs to (any other is a 404, exactly like another tenant's rows). A custom
 * header cannot be sent cross-site without a CORS preflight this app never answers, so the cookie alone cannot be
 * used by another site (with SameSite=Lax on top).
 */
export function sessionTenant(models: Models): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    (async () => {
      const session = await currentSession(models, req);
      if (!session?.userUuid) throw unauthorized("sign in with Bitbucket first (Connect Bitbucket), or send a Connect token");
      const tenant = await memberTenant(models, session, req.get(TENANT_HEADER) ?? "", `the ${TENANT_HEADER} header`, req);
      setTenantAuth(res, { tenant, user: serverGrantOf(session)?.username ?? session.userUuid, via: "session" });
    })().then(() => next(), next);
  };
}

/**
 * The session door for the live log only (GET, read-only): EventSource sends no headers, so the workspace comes in
 * `?tenant=`; the session cookie is the credential (SameSite=Lax: not sent on another site's subresource requests)
 * and membership is checked exactly as for the header.
 */
export function sessionTenantFromQuery(models: Models): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    (async () => {
      const session = await currentSession(models, req);
      if (!session?.userUuid) throw unauthorized("sign in with Bitbucket first (Connect Bitbucket), or send a Connect token");
      const raw = typeof req.query.tenant === "string" ? req.query.tenant : "";
      const tenant = await memberTenant(models, session, raw, "the tenant parameter", req);
      setTenantAuth(res, { tenant, user: serverGrantOf(session)?.username ?? session.userUuid, via: "session" });
    })().then(() => next(), next);
  };
}

/**
 * Either door: a request with a Connect token (Authorization header or `?jwt=`) goes through `connect`; one with a
 * session cookie and no token through the session; a request already authenticated by an earlier router on the
 * same path goes on.
 */
export function connectOrSession(connect: RequestHandler, session: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const done = res.locals.tenantAuth as { via?: string } | undefined;
    if (done?.via === "session") return next();
    if (req.headers.authorization || req.query.jwt !== undefined || !hasSessionCookie(req)) return connect(req, res, next);
    return session(req, res, next);
  };
}
