import type { Request, Response } from "express";
import type { OAuthSettings } from "../../forges/cloud-oauth/oauth-settings";
import { requestActor } from "../api/request-actor";
import { deploymentsModel } from "./deployments-model";
import { pageAuthOf } from "./page-auth";
import { pageChrome } from "./page-chrome";
import type { PageDeps } from "./page-deps";
import { setPageHeaders } from "./page-headers";
import { repositoryOf } from "./repository-param";

export interface DeploymentsPageDeps extends PageDeps {
  /** The OAuth consumer, to ask Bitbucket as a signed-in person (null when none is configured). */
  oauth: OAuthSettings | null;
}

export async function deploymentsPageModel(deps: DeploymentsPageDeps, req: Request, res: Response) {
  const auth = pageAuthOf(res);
  const actor = { models: deps.ctx.models, forgeFor: deps.ctx.forgeFor, oauth: deps.oauth };
  return { auth, model: await deploymentsModel(deps, auth.tenant, repositoryOf(req), (app) => requestActor(actor, req, res, app)) };
}

/**
 * GET /pages/deployments — the Deployments page of a repository (a second repoPages entry): per environment what is
 * deployed now, what waits, the history, Promote and Redeploy. The same page standalone at /app/:workspace/:repo/deployments.
 */
export function deploymentsGet(deps: DeploymentsPageDeps) {
  return async (req: Request, res: Response) => {
    const { auth, model: m } = await deploymentsPageModel(deps, req, res);
    setPageHeaders(res, auth);
    res.render("deployments", { ...pageChrome(deps, auth, `Deployments of ${m.repository}`, ["pipelines.js", "deployments.js"]), ...m });
  };
}
