import type { Request, Response } from "express";
import { connectAuthOf } from "../../forges/cloud-connect/jwt/verify-request";
import { setPageHeaders } from "./page-headers";
import { repositoryOf } from "./repository-param";
import { hostScriptUrl } from "./host-script";

/** GET /pages/panel — the panel on a repository's overview (org.bitbucket.repository.overview.informationPanel). */
export function panelGet(appBaseUrl: string) {
  return (req: Request, res: Response) => {
    const { tenant } = connectAuthOf(res);
    const repo = repositoryOf(req);
    setPageHeaders(res, tenant.baseUrl);
    res.render("panel", { title: repo.fullName, repository: repo.fullName, baseUrl: appBaseUrl, hostScriptUrl: hostScriptUrl(tenant.baseUrl), bodyClass: "panel-body" });
  };
}
