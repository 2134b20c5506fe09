import type { Request, Response } from "express";
import { connectAuthOf } from "../../forges/cloud-connect/jwt/verify-request";
import { PIPELINES_SCOPES, scopeInfo } from "../../scopes/catalogue";
import { setPageHeaders } from "./page-headers";
import { hostScriptUrl } from "./host-script";

/** GET /pages/configure — the app's configure page for the workspace it is installed in. */
export function configureGet(appBaseUrl: string) {
  return (_req: Request, res: Response) => {
    const { tenant } = connectAuthOf(res);
    setPageHeaders(res, tenant.baseUrl);
    res.render("configure", {
      title: "Configure",
      workspace: tenant.principalName ?? tenant.principalUuid,
      scopes: PIPELINES_SCOPES.map((s) => scopeInfo(s)),
      baseUrl: appBaseUrl,
      hostScriptUrl: hostScriptUrl(tenant.baseUrl),
    });
  };
}
