import type { Request, Response } from "express";
import { buildJson } from "../../builds/build-json";
import type { EngineContext } from "../../builds/engine-context";
import { runManualStep } from "../../builds/resume-build";
import { tenantOf } from "./tenant-auth";
import { conflict, notFound } from "../../http/http-error";
import { findBuild, stepIndexParam } from "./find-build";

/** POST /api/builds/:id/steps/:n/run — runs the manual step a paused build waits for. 200 with the build (QUEUED); 409 otherwise. */
export function buildStepRunPost(ctx: EngineContext) {
  return async (req: Request, res: Response) => {
    const tenant = tenantOf(res);
    const { build, app } = await findBuild(ctx.models, tenant.id, req.params.id);
    const result = await runManualStep(ctx, tenant, app, build, stepIndexParam(req.params.n));
    if (result.outcome === "no-step") throw notFound(result.reason);
    if (result.outcome === "conflict") throw conflict(result.reason);
    const steps = await ctx.models.Step.findAll({ where: { buildId: build.id }, order: [["index", "ASC"]] });
    res.json(buildJson(result.build, app.repository, steps));
  };
}
