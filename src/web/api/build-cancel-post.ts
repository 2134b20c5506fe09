import type { Request, Response } from "express";
import { buildJson } from "../../builds/build-json";
import type { EngineContext } from "../../builds/engine-context";
import { stopBuild } from "../../builds/stop-build";
import { tenantOf } from "../../http/tenant-auth";
import { conflict } from "../../http/http-error";
import { findBuild } from "./find-build";

/**
 * POST /api/builds/:id/cancel — stops a queued, running or paused build (a runner running it stops the step at
 * its next heartbeat) and reports STOPPED to Bitbucket. 409 when it had already finished.
 */
export function buildCancelPost(ctx: EngineContext) {
  return async (req: Request, res: Response) => {
    const tenant = tenantOf(res);
    const { build, app } = await findBuild(ctx.models, tenant.id, req.params.id);
    const stopped = await ctx.models.sequelize.transaction((tx) => stopBuild(ctx, tenant, app, build, "stopped by a user", tx));
    if (!stopped) throw conflict(`build #${build.number} has already finished (${build.state})`);
    ctx.notify?.statusQueued?.();
    const steps = await ctx.models.Step.findAll({ where: { buildId: build.id }, order: [["index", "ASC"]] });
    res.json(buildJson(build, app.repository, steps));
  };
}
