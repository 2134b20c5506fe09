import type { Request } from "express";
import type { Models, OAuthSession, Tenant } from "../../db/models";
import { HttpError, forbidden, notFound } from "../../http/http-error";
import { findBuild } from "../api/find-build";

/**
 * What a Bitbucket Server login grants (kept in the session row, never the password): the Server connection
 * (tenant) it was made for, the Server username, and the repositories that user could read (`REPO_READ`) when
 * signing in — refreshed at the next login, gone when the session expires.
 *
 * Stored in the OAuth session table: `user_uuid` = `server:<tenantId>` marks the session as a Server one,
 * `user_name` the Server username, `workspace_uuids` `{"server": {tenantId, username, repositories}}` (an object,
 * so it never reads as a list of Cloud workspaces).
 */
export interface ServerGrant {
  tenantId: number;
  username: string;
  repositories: string[];
  /** The repositories the user administered (REPO_ADMIN) at sign-in: where they may start deployments. */
  adminRepositories?: string[];
}

export const SERVER_SESSION_PREFIX = "server:";

/** The columns of a new session for `grant`. */
export function serverSessionFields(grant: ServerGrant): { userUuid: string; userName: string; workspaceUuids: string } {
  return { userUuid: `${SERVER_SESSION_PREFIX}${grant.tenantId}`, userName: grant.username, workspaceUuids: JSON.stringify({ server: grant }) };
}

/** The Server grant of a session, or null for an OAuth (Cloud) session or an unreadable row. */
export function serverGrantOf(session: OAuthSession | null): ServerGrant | null {
  if (!session?.userUuid?.startsWith(SERVER_SESSION_PREFIX)) return null;
  try {
    const g = (JSON.parse(session.workspaceUuids ?? "null") as { server?: Partial<ServerGrant> } | null)?.server;
    if (!g || typeof g.tenantId !== "number" || `${SERVER_SESSION_PREFIX}${g.tenantId}` !== session.userUuid || typeof g.username !== "string" || !Array.isArray(g.repositories)) return null;
    const admin = Array.isArray(g.adminRepositories) ? g.adminRepositories.filter((r): r is string => typeof r === "string") : [];
    return { tenantId: g.tenantId, username: g.username, repositories: g.repositories.filter((r): r is string => typeof r === "string"), adminRepositories: admin };
  } catch {
    return null;
  }
}

/** Server project keys are case-insensitive (and shown upper case); slugs are lower case. */
function sameRepository(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export function grantCovers(grant: ServerGrant, repository: string): boolean {
  return grant.repositories.some((r) => sameRepository(r, repository));
}

/** The active Server connection `tenantId` if the grant was made for it; anything else is a 404. */
export async function grantedTenant(models: Models, grant: ServerGrant, tenantId: number): Promise<Tenant> {
  const tenant = tenantId === grant.tenantId ? await models.Tenant.findByPk(tenantId) : null;
  if (!tenant || tenant.kind !== "server" || tenant.status !== "active") throw notFound("no Bitbucket Server connection you signed in to has this id");
  return tenant;
}

/**
 * The repository a JSON API or fragment request of a standalone page is about: `?repoPath=` (fragments), the
 * application of `/api/builds/:id…`, or `/api/applications/:id…`. Null when the request names none.
 */
async function requestRepository(models: Models, tenant: Tenant, req: Request): Promise<string | null> {
  if (typeof req.query.repoPath === "string") return req.query.repoPath;
  const path = req.originalUrl.split("?")[0];
  let m = /^\/api\/builds\/([^/]+)(\/|$)/.exec(path);
  if (m) return (await findBuild(models, tenant.id, decodeURIComponent(m[1]))).app.repository;
  m = /^\/api\/applications\/(\d{1,12})(\/|$)/.exec(path);
  if (m) {
    const app = await models.Application.findOne({ where: { id: Number(m[1]), tenantId: tenant.id } });
    if (!app) throw notFound(`no application ${m[1]}`);
    return app.repository;
  }
  return null;
}

/** A deployment action of the JSON API: Promote and Redeploy on an environment. */
const DEPLOYMENT_ACTION = /^\/api\/applications\/\d{1,12}\/environments\/[^/]+\/(promote|redeploy)$/;

/**
 * The session door for a Bitbucket Server session (called by the session door of the JSON API and fragments):
 * the tenant named must be the connection the user signed in to, and the request must be about a repository the
 * user could read at login; anything else is a 404, exactly like another tenant's rows. REPO_READ is a read
 * permission, so only reads (GET) go through — except the deployment actions (Promote, Redeploy) on a repository the
 * user administered (REPO_ADMIN) at sign-in. Cancel, rerun and manual steps are for Bitbucket Cloud pages and the CLI.
 */
export async function serverMemberTenant(models: Models, grant: ServerGrant, raw: string, from: string, req: Request): Promise<Tenant> {
  if (!/^\d{1,12}$/.test(raw)) throw new HttpError(400, `${from} must name a Bitbucket Server connection (its id)`);
  const tenant = await grantedTenant(models, grant, Number(raw));
  const repository = await requestRepository(models, tenant, req);
  if (repository === null || !grantCovers(grant, repository)) throw notFound("no repository you can read on this Bitbucket Server has this address");
  if (req.method === "GET" || req.method === "HEAD") return tenant;
  const administers = (grant.adminRepositories ?? []).some((r) => sameRepository(r, repository));
  if (req.method === "POST" && DEPLOYMENT_ACTION.test(req.originalUrl.split("?")[0]) && administers) return tenant;
  throw forbidden("a Bitbucket Server sign-in can look at builds, and start deployments (Promote, Redeploy) of the repositories it administers (REPO_ADMIN); run, rerun and stop builds from the CLI");
}
