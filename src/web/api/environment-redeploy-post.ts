import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import { deploymentJson } from "../../deployments/deployment-json";
import { redeploy } from "../../deployments/redeploy";
import { badRequest, forbidden, HttpError } from "../../http/http-error";
import { actorDeps, type DeploymentsApiDeps } from "./deployments-deps";
import { findBuild } from "./find-build";
import { environmentParam } from "./find-environment";
import { unlessBitbucketUnavailable } from "./forge-unavailable";
import { requestActor } from "./request-actor";
import { tenantOf } from "./tenant-auth";

/**
 * POST /api/applications/:id/environments/:name/redeploy `{buildId}` — runs that build's deployment step to the
 * environment again on its commit, with its artifacts (a rollback), as a new build: 201 with the new deployment
 * (WAITING). 403 for a non-admin on an admins-only environment; 422 when the build has no such step.
 */
export function environmentRedeployPost(deps: DeploymentsApiDeps) {
  return async (req: Request, res: Response) => {
    const { ctx } = deps;
    const tenant = tenantOf(res);
    const app = await findApplication(ctx.models, tenant.id, req.params.id);
    const env = await environmentParam(ctx.models, app, req.params.name);
    const buildId = (req.body as { buildId?: unknown } | undefined)?.buildId;
    if (!Number.isSafeInteger(buildId) || (buildId as number) < 1) throw badRequest('the body must name the build to redeploy: {"buildId": 123}');
    const { build } = await findBuild(ctx.models, tenant.id, String(buildId));
    if (build.applicationId !== app.id) throw badRequest(`build ${String(buildId)} is not a build of ${app.repository}`);
    const result = await unlessBitbucketUnavailable(() => redeploy(ctx, tenant, app, env, build, requestActor(actorDeps(deps), req, res, app)));
    if (result.outcome === "forbidden") throw forbidden(result.reason);
    if (result.outcome === "invalid") throw new HttpError(422, result.reason);
    res.status(201).json(deploymentJson(result.deployment, env, result.build.number));
  };
}
