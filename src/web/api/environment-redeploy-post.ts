import type { Request, Response } from "express";
import { deploymentJson } from "../../deployments/deployment-json";
import { redeploy } from "../../deployments/redeploy";
import { forbidden, HttpError } from "../../http/http-error";
import { actorDeps, type DeploymentsApiDeps } from "./deployments-deps";
import { environmentBuildRequest } from "./environment-build-request";
import { unlessBitbucketUnavailable } from "./forge-unavailable";
import { requestActor } from "./request-actor";

/**
 * POST /api/applications/:id/environments/:name/redeploy `{buildId}` — runs that build's deployment step to the
 * environment again on its commit, with its artifacts (a rollback), as a new build: 201 with the new deployment
 * (WAITING). 403 for a non-admin on an admins-only environment; 422 when the build has no such step.
 */
export function environmentRedeployPost(deps: DeploymentsApiDeps) {
  return async (req: Request, res: Response) => {
    const { ctx, tenant, app, env, build } = await environmentBuildRequest(deps, req, res, "redeploy");
    const result = await unlessBitbucketUnavailable(() => redeploy(ctx, tenant, app, env, build, requestActor(actorDeps(deps), req, res, app)));
    if (result.outcome === "forbidden") throw forbidden(result.reason);
    if (result.outcome === "invalid") throw new HttpError(422, result.reason);
    res.status(201).json(deploymentJson(result.deployment, env, result.build.number));
  };
}
