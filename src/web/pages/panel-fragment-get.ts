import type { Request, Response } from "express";
import { connectAuthOf } from "../../forges/cloud-connect/jwt/verify-request";
import { setFragmentHeaders } from "./page-headers";
import type { PageDeps } from "./page-deps";
import { panelModel } from "./panel-model";
import { repositoryOf } from "./repository-param";

/**
 * GET /fragments/panel?repoPath= — the panel without its layout, for the panel's script to refresh its regions
 * (after "Create application", and while builds run). Takes a context token, like every page action.
 */
export function panelFragmentGet(deps: PageDeps) {
  return async (req: Request, res: Response) => {
    const { tenant } = connectAuthOf(res);
    const repo = repositoryOf(req);
    const model = await panelModel(deps, tenant, repo);
    setFragmentHeaders(res, tenant.baseUrl);
    res.render("panel", { baseUrl: deps.baseUrl, ...model, layout: false });
  };
}
