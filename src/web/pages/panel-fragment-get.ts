import type { Request, Response } from "express";
import { pageAuthOf } from "./page-auth";
import { setFragmentHeaders } from "./page-headers";
import type { PageDeps } from "./page-deps";
import { panelModel } from "./panel-model";
import { repositoryOf } from "./repository-param";

/**
 * GET /fragments/panel?repoPath= — the panel without its layout, for the panel's script to refresh its regions
 * (after "Create application", and while builds run). Takes a context token, like every page action, or the
 * session with `X-Pipelines-Tenant` (standalone).
 */
export function panelFragmentGet(deps: PageDeps) {
  return async (req: Request, res: Response) => {
    const auth = pageAuthOf(res);
    const { tenant } = auth;
    const repo = repositoryOf(req);
    const model = await panelModel(deps, tenant, repo);
    setFragmentHeaders(res, auth);
    res.render("panel", { baseUrl: deps.baseUrl, ...model, layout: false });
  };
}
