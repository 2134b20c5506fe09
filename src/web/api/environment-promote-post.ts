import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import { buildJson } from "../../builds/build-json";
import { promote } from "../../deployments/promote";
import { badRequest, conflict, forbidden, notFound } from "../../http/http-error";
import { actorDeps, type DeploymentsApiDeps } from "./deployments-deps";
import { findBuild } from "./find-build";
import { environmentParam } from "./find-environment";
import { unlessBitbucketUnavailable } from "./forge-unavailable";
import { requestActor } from "./request-actor";
import { tenantOf } from "./tenant-auth";

/**
 * POST /api/applications/:id/environments/:name/promote `{buildId}` — runs the build's next (manual) deployment step,
 * the one it waits at, when it deploys to this environment: 200 with the build (QUEUED). 403 for a non-admin on an
 * admins-only environment; 409 when the build does not wait to deploy there.
 */
export function environmentPromotePost(deps: DeploymentsApiDeps) {
  return async (req: Request, res: Response) => {
    const { ctx } = deps;
    const tenant = tenantOf(res);
    const app = await findApplication(ctx.models, tenant.id, req.params.id);
    const env = await environmentParam(ctx.models, app, req.params.name);
    const buildId = (req.body as { buildId?: unknown } | undefined)?.buildId;
    if (!Number.isSafeInteger(buildId) || (buildId as number) < 1) throw badRequest('the body must name the build to promote: {"buildId": 123}');
    const { build } = await findBuild(ctx.models, tenant.id, String(buildId));
    if (build.applicationId !== app.id) throw badRequest(`build ${String(buildId)} is not a build of ${app.repository}`);
    const result = await unlessBitbucketUnavailable(() => promote(ctx, tenant, app, env, build, requestActor(actorDeps(deps), req, res, app)));
    if (result.outcome === "forbidden") throw forbidden(result.reason);
    if (result.outcome === "no-step") throw notFound(result.reason);
    if (result.outcome === "conflict") throw conflict(result.reason);
    const steps = await ctx.models.Step.findAll({ where: { buildId: build.id } });
    res.json(buildJson(result.build, app.repository, steps));
  };
}
