import type { Request, Response } from "express";
import { pageAuthOf } from "./page-auth";
import { buildsModel, parseBuildsQuery } from "./builds-model";
import { setFragmentHeaders } from "./page-headers";
import type { PageDeps } from "./page-deps";
import { repositoryOf } from "./repository-param";

/**
 * GET /fragments/builds?repoPath=&region=list,chart,build,decisions,badge&… — regions of the builds page without its
 * layout, for the page's script (filters, older pages, opening a build, refreshing a running one). Same query as the
 * page; only the regions asked for are read. Takes a context token, like every page action, or the session with `X-Pipelines-Tenant` (standalone).
 */
export function buildsFragmentGet(deps: PageDeps) {
  return async (req: Request, res: Response) => {
    const auth = pageAuthOf(res);
    const { tenant } = auth;
    const repo = repositoryOf(req);
    const model = await buildsModel(deps, tenant, repo, parseBuildsQuery(req.query, true));
    setFragmentHeaders(res, auth);
    if (model.app?.buildMissing) res.status(404);
    res.render("builds", { baseUrl: deps.baseUrl, ...model, layout: false });
  };
}
