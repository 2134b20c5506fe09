import type { Request, Response } from "express";
import { buildJson } from "../../builds/build-json";
import { promote } from "../../deployments/promote";
import { conflict, forbidden, notFound } from "../../http/http-error";
import { actorDeps, type DeploymentsApiDeps } from "./deployments-deps";
import { environmentBuildRequest } from "./environment-build-request";
import { unlessBitbucketUnavailable } from "./forge-unavailable";
import { requestActor } from "./request-actor";

/**
 * POST /api/applications/:id/environments/:name/promote `{buildId}` — runs the build's next (manual) deployment step,
 * the one it waits at, when it deploys to this environment: 200 with the build (QUEUED). 403 for a non-admin on an
 * admins-only environment; 409 when the build does not wait to deploy there.
 */
export function environmentPromotePost(deps: DeploymentsApiDeps) {
  return async (req: Request, res: Response) => {
    const { ctx, tenant, app, env, build } = await environmentBuildRequest(deps, req, res, "promote");
    const result = await unlessBitbucketUnavailable(() => promote(ctx, tenant, app, env, build, requestActor(actorDeps(deps), req, res, app)));
    if (result.outcome === "forbidden") throw forbidden(result.reason);
    if (result.outcome === "no-step") throw notFound(result.reason);
    if (result.outcome === "conflict") throw conflict(result.reason);
    const steps = await ctx.models.Step.findAll({ where: { buildId: build.id } });
    res.json(buildJson(result.build, app.repository, steps));
  };
}
