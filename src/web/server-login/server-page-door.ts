import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Models } from "../../db/models";
import { notFound } from "../../http/http-error";
import { setTenantAuth } from "../../http/tenant-auth";
import { currentSession } from "../oauth/session";
import { grantCovers, grantedTenant, serverGrantOf, type ServerGrant } from "./server-grant";
import { serverLoginPath } from "./server-paths";

/** The Server grant of this browser, or null after redirecting it to the login form of the connection in the path. */
export async function pageGrant(baseUrl: string, models: Models, req: Request, res: Response): Promise<ServerGrant | null> {
  const grant = serverGrantOf(await currentSession(models, req));
  if (grant) return grant;
  res.set("Cache-Control", "no-store").redirect(302, `${baseUrl.replace(/\/+$/, "")}${serverLoginPath(req.params.tenantId)}`);
  return null;
}

function tenantIdParam(raw: string): number {
  if (!/^\d{1,12}$/.test(raw)) throw notFound("no Bitbucket Server connection has this id");
  return Number(raw);
}

/**
 * The door of a Server repository's standalone pages `/server/:tenantId/:workspace/:repo/…` (`:workspace` is the
 * project key, so the Cloud pages' handlers read the repository as they do standalone): a Server session (else a
 * redirect to its login form), for this connection, and a repository the user could read at login; anything else
 * is a 404. Sets the same `tenantAuth` the other doors set, so the pages' handlers are shared.
 */
export function serverRepositoryPage(baseUrl: string, models: Models): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    (async () => {
      const grant = await pageGrant(baseUrl, models, req, res);
      if (!grant) return false;
      const tenant = await grantedTenant(models, grant, tenantIdParam(req.params.tenantId));
      if (!grantCovers(grant, `${req.params.workspace}/${req.params.repo}`)) throw notFound("no repository you can read on this Bitbucket Server has this address");
      setTenantAuth(res, { tenant, user: grant.username, userName: grant.username, via: "session" });
      return true;
    })().then((go) => {
      if (go) next();
    }, next);
  };
}

export { tenantIdParam };
