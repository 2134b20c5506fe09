import type { Request, RequestHandler, Response } from "express";
import { forgePageContextOf } from "./forge-ui-auth";

/**
 * Runs a page (or fragment) handler of the other doors unchanged, but answers what it renders as JSON — `{html}`, the
 * view without its layout, plus the installation's state — because Forge passes only JSON between the remote and the
 * app's page (invokeRemote). The handler, its model and its view are the ones the Connect and standalone pages use.
 */
export function renderAsJson(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return async (req, res) => {
    res.render = ((view: string, locals?: object) => {
      req.app.render(view, { ...(locals ?? {}), layout: false }, (err, html) => {
        if (err) {
          res.status(500).json({ error: `the page could not be rendered: ${err.message}` });
          return;
        }
        res.removeHeader("Content-Security-Policy");
        res.removeHeader("X-Frame-Options");
        res.json({ html, installation: forgePageContextOf(res).installation, repository: forgePageContextOf(res).fullName });
      });
    }) as Response["render"];
    await handler(req, res);
  };
}
