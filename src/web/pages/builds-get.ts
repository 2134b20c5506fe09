import type { Request, Response } from "express";
import { connectAuthOf } from "../../forges/cloud-connect/jwt/verify-request";
import { setPageHeaders } from "./page-headers";
import { repositoryOf } from "./repository-param";
import { hostScriptUrl } from "./host-script";

/** GET /pages/builds — the repository page (org.bitbucket.repository.navigation). */
export function buildsGet(appBaseUrl: string) {
  return (req: Request, res: Response) => {
    const { tenant } = connectAuthOf(res);
    const repo = repositoryOf(req);
    setPageHeaders(res, tenant.baseUrl);
    res.render("builds", { title: `Builds of ${repo.fullName}`, repository: repo.fullName, baseUrl: appBaseUrl, hostScriptUrl: hostScriptUrl(tenant.baseUrl) });
  };
}
