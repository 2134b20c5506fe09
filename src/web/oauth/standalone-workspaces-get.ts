import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import { setPageHeaders } from "../pages/page-headers";
import { pageSession } from "./standalone-auth";
import { sessionConnections } from "./oauth-connections";

/**
 * GET /app — the standalone start page: the connected workspaces the signed-in user belongs to (never another),
 * each with its state and a link to its applications and settings. Signed out: to sign in.
 */
export function standaloneWorkspacesGet(baseUrl: string, models: Models) {
  return async (req: Request, res: Response) => {
    const session = await pageSession(models, req, res);
    if (!session) return;
    const workspaces = (await sessionConnections(models, session)).map(({ view }) => ({ ...view, reconnect: view.state === "reconnect-needed" }));
    setPageHeaders(res, null);
    res.render("standalone-workspaces", { title: "Workspaces", baseUrl, user: session.userName ?? session.userUuid, workspaces });
  };
}
