import type { Request, Response } from "express";
import { deploymentsPageModel, type DeploymentsPageDeps } from "./deployments-get";
import { setFragmentHeaders } from "./page-headers";

/** GET /fragments/deployments?repoPath= — the page without its layout, for its script to refresh it (context token or session). */
export function deploymentsFragmentGet(deps: DeploymentsPageDeps) {
  return async (req: Request, res: Response) => {
    const { auth, model: m } = await deploymentsPageModel(deps, req, res);
    setFragmentHeaders(res, auth);
    res.render("deployments", { baseUrl: deps.baseUrl, ...m, layout: false });
  };
}
