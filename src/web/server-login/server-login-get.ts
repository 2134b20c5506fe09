import type { Request, Response } from "express";
import { loginForm, sendPage } from "./login-page";

/** GET /server/login?connection=<tenantId> — the login form of a Bitbucket Server connection. */
export function serverLoginGet(baseUrl: string) {
  return (req: Request, res: Response) => {
    const connection = typeof req.query.connection === "string" && /^\d{1,12}$/.test(req.query.connection) ? req.query.connection : "";
    if (!connection) return sendPage(res, baseUrl, 400, "Sign in", "<p>This sign-in link must name a Bitbucket Server connection (<code>?connection=&lt;id&gt;</code>).</p>");
    sendPage(res, baseUrl, 200, "Sign in with Bitbucket Server", loginForm(baseUrl, connection, "", null));
  };
}
