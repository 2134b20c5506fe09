import type { Request, Response } from "express";
import { connectAuthOf } from "../../forges/cloud-connect/jwt/verify-request";
import { setPageHeaders } from "./page-headers";
import { pageChrome } from "./page-chrome";
import type { PageDeps } from "./page-deps";
import { panelModel } from "./panel-model";
import { repositoryOf } from "./repository-param";

/** GET /pages/panel — the panel on a repository's overview (org.bitbucket.repository.overview.informationPanel). */
export function panelGet(deps: PageDeps) {
  return async (req: Request, res: Response) => {
    const { tenant } = connectAuthOf(res);
    const repo = repositoryOf(req);
    const model = await panelModel(deps, tenant, repo);
    setPageHeaders(res, tenant.baseUrl);
    res.render("panel", { ...pageChrome(deps, tenant, repo.fullName, ["pipelines.js", "panel.js"], "panel-body"), ...model });
  };
}
