import type { Request, Response } from "express";
import { buildJson } from "../../builds/build-json";
import type { EngineContext } from "../../builds/engine-context";
import { rerunFailedSteps } from "../../builds/rerun-failed-steps";
import { conflict } from "../../http/http-error";
import { findBuild } from "./find-build";
import { tenantAuthOf, tenantOf } from "../../http/tenant-auth";

/**
 * POST /api/builds/:id/rerun-failed — "Re-run failed steps": a new build that reuses the passed steps' results and
 * artifacts and runs from the first failed step (or stage) on. 201 with the new build (`reused`: how many steps it
 * took over); 409 when the build has not failed or has nothing to re-run.
 */
export function buildRerunFailedPost(ctx: EngineContext) {
  return async (req: Request, res: Response) => {
    const tenant = tenantOf(res);
    const { build, app } = await findBuild(ctx.models, tenant.id, req.params.id);
    const result = await rerunFailedSteps(ctx, tenant, app, build, tenantAuthOf(res).userName ?? null);
    if (result.outcome === "refused") throw conflict(result.reason);
    const steps = await ctx.models.Step.findAll({ where: { buildId: result.build.id }, order: [["index", "ASC"]] });
    res.status(201).json({ ...buildJson(result.build, app.repository, steps), reused: result.reused });
  };
}
