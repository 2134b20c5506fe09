import type { Request, Response } from "express";
import { pageAuthOf } from "./page-auth";
import { setPageHeaders } from "./page-headers";
import { pageChrome } from "./page-chrome";
import type { PageDeps } from "./page-deps";
import { panelModel } from "./panel-model";
import { repositoryOf } from "./repository-param";

/**
 * GET /pages/panel — the panel on a repository's overview (org.bitbucket.repository.overview.informationPanel); the
 * same page standalone at /app/:workspace/:repo behind the session.
 */
export function panelGet(deps: PageDeps) {
  return async (req: Request, res: Response) => {
    const auth = pageAuthOf(res);
    const { tenant } = auth;
    const repo = repositoryOf(req);
    const model = await panelModel(deps, tenant, repo);
    setPageHeaders(res, auth);
    res.render("panel", { ...pageChrome(deps, auth, repo.fullName, ["pipelines.js", "panel.js"], "panel-body"), ...model });
  };
}
