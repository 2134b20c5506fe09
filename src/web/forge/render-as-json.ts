import type { Request, RequestHandler, Response } from "express";
import { forgePageContextOf } from "./forge-ui-auth";

/** A file of the page's own (`pipelines.js`, `configure.css`): what the Forge app's Custom UI resource holds. */
const PAGE_FILE = /^[a-z][a-z0-9-]*\.(js|css)$/;

function pageFiles(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((f): f is string => typeof f === "string" && PAGE_FILE.test(f)) : [];
}

/**
 * Runs a page (or fragment) handler of the other doors unchanged, but answers what it renders as JSON — `{html}`, the
 * view without its layout, the page's scripts and styles (what the layout would have loaded from /static; the Forge
 * page loads the same files from its resource), plus the installation's state — because Forge passes only JSON
 * between the remote and the app's page (invokeRemote). The handler, its model and its view are the ones the Connect
 * and standalone pages use.
 */
export function renderAsJson(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return async (req, res) => {
    res.render = ((view: string, locals?: Record<string, unknown>) => {
      req.app.render(view, { ...(locals ?? {}), layout: false }, (err, html) => {
        if (err) {
          res.status(500).json({ error: `the page could not be rendered: ${err.message}` });
          return;
        }
        res.removeHeader("Content-Security-Policy");
        res.removeHeader("X-Frame-Options");
        const page = forgePageContextOf(res);
        res.json({ html, scripts: pageFiles(locals?.scripts), styles: pageFiles(locals?.styles), installation: page.installation, repository: page.fullName });
      });
    }) as Response["render"];
    await handler(req, res);
  };
}
