import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Models, OAuthSession } from "../../db/models";
import { notFound } from "../../http/http-error";
import { setTenantAuth } from "../../http/tenant-auth";
import { currentSession } from "./session";
import { sessionConnections } from "./oauth-connections";

/** Where a signed-out browser is sent: the standalone home, whose "Connect Bitbucket" signs in. */
export const LOGIN_PATH = "/oauth";

/** The signed-in session of a standalone page, or null after redirecting the browser to sign in. */
export async function pageSession(models: Models, req: Request, res: Response): Promise<OAuthSession | null> {
  const session = await currentSession(models, req);
  if (session?.userUuid) return session;
  res.set("Cache-Control", "no-store").redirect(302, LOGIN_PATH);
  return null;
}

/**
 * The door of the standalone pages `/app/:workspace/…`: a signed-in session (else a redirect to sign in), and a
 * connected workspace with that slug the session's user belongs to (else 404, exactly as another tenant's page
 * inside Bitbucket). Sets the same `tenantAuth` the Connect door sets, so the pages' handlers are shared.
 */
export function standaloneWorkspace(models: Models): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    (async () => {
      const session = await pageSession(models, req, res);
      if (!session) return false;
      const slug = req.params.workspace;
      const mine = (await sessionConnections(models, session)).find((c) => c.view.workspace === slug);
      if (!mine || mine.tenant.status !== "active") throw notFound("no connected workspace of yours has this name");
      setTenantAuth(res, { tenant: mine.tenant, user: session.userUuid, userName: session.userName, via: "session" });
      return true;
    })().then((go) => {
      if (go) next();
    }, next);
  };
}
