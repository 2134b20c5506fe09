import type { Request, Response } from "express";
import { buildJson } from "../../builds/build-json";
import { runStepByHand } from "../../deployments/run-deployment-step";
import { tenantOf } from "../../http/tenant-auth";
import { conflict, forbidden, notFound } from "../../http/http-error";
import { findBuild, stepIndexParam } from "./find-build";
import { actorDeps, type DeploymentsApiDeps } from "./deployments-deps";
import { unlessBitbucketUnavailable } from "./forge-unavailable";
import { requestActor } from "./request-actor";

/**
 * POST /api/builds/:id/steps/:n/run — runs the manual step a paused build waits for. 200 with the build (QUEUED); 409
 * otherwise. A deployment step records who started it; to an admins-only environment only a repository admin may (403).
 */
export function buildStepRunPost(deps: DeploymentsApiDeps) {
  return async (req: Request, res: Response) => {
    const { ctx } = deps;
    const tenant = tenantOf(res);
    const { build, app } = await findBuild(ctx.models, tenant.id, req.params.id);
    const index = stepIndexParam(req.params.n);
    const result = await unlessBitbucketUnavailable(() => runStepByHand(ctx, tenant, app, build, index, requestActor(actorDeps(deps), req, res, app)));
    if (result.outcome === "no-step") throw notFound(result.reason);
    if (result.outcome === "conflict") throw conflict(result.reason);
    if (result.outcome === "forbidden") throw forbidden(result.reason);
    const steps = await ctx.models.Step.findAll({ where: { buildId: build.id }, order: [["index", "ASC"]] });
    res.json(buildJson(result.build, app.repository, steps));
  };
}
