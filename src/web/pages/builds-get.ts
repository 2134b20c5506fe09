import type { Request, Response } from "express";
import { pageAuthOf } from "./page-auth";
import { buildsModel, parseBuildsQuery } from "./builds-model";
import { setPageHeaders } from "./page-headers";
import { pageChrome } from "./page-chrome";
import type { PageDeps } from "./page-deps";
import { repositoryOf } from "./repository-param";
import { schedulesView } from "./schedules-view";

/**
 * GET /pages/builds — the repository page (org.bitbucket.repository.navigation): builds, chart, "why did / didn't
 * this run", the badge; with `build=<id>` (the link of a commit status) that build with its steps and live log.
 * `branch`, `state` and `cursor` filter and page the list. The same page standalone at /app/:workspace/:repo/builds.
 */
export function buildsGet(deps: PageDeps) {
  return async (req: Request, res: Response) => {
    const auth = pageAuthOf(res);
    const { tenant } = auth;
    const repo = repositoryOf(req);
    const model = await buildsModel(deps, tenant, repo, parseBuildsQuery(req.query, false));
    const schedules = await schedulesView(deps.ctx.models, tenant, repo);
    setPageHeaders(res, auth);
    if (model.app?.buildMissing) res.status(404);
    res.render("builds", { ...pageChrome(deps, auth, `Builds of ${repo.fullName}`, ["pipelines.js", "builds.js", "schedules.js"]), ...model, schedules });
  };
}
