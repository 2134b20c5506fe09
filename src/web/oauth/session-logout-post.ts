import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import { clearSessionCookie, currentSession } from "./session";

/**
 * POST /session/logout — signs the browser out of the standalone pages (an OAuth or a Bitbucket Server session): the
 * session row is deleted, so the cookie is worthless even if it was copied, and the cookie is cleared. The cookie is
 * SameSite=Lax, so another site cannot post this for the user. 303 to `/oauth` (or `returnTo` when it is a local path).
 */
export function sessionLogoutPost(models: Models) {
  return async (req: Request, res: Response) => {
    const session = await currentSession(models, req);
    if (session) await session.destroy();
    clearSessionCookie(req, res);
    const back = typeof req.query.returnTo === "string" && /^\/(?!\/)[\w\-/.?=&%]*$/.test(req.query.returnTo) ? req.query.returnTo : "/oauth";
    res.set("Cache-Control", "no-store").redirect(303, back);
  };
}
