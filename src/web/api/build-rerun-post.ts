import type { Request, Response } from "express";
import { buildJson } from "../../builds/build-json";
import type { EngineContext } from "../../builds/engine-context";
import { rerunBuild } from "../../builds/rerun-build";
import { tenantAuthOf, tenantOf } from "../../http/tenant-auth";
import { conflict, HttpError } from "../../http/http-error";
import { findBuild } from "./find-build";
import { unlessBitbucketUnavailable } from "./forge-unavailable";

/** POST /api/builds/:id/rerun — a new build of the same commit, ref and pipeline. 201 with the new build; 409 while the build runs. */
export function buildRerunPost(ctx: EngineContext) {
  return async (req: Request, res: Response) => {
    const tenant = tenantOf(res);
    const { build, app } = await findBuild(ctx.models, tenant.id, req.params.id);
    const result = await unlessBitbucketUnavailable(() => rerunBuild(ctx, tenant, app, build, tenantAuthOf(res).userName ?? null));
    if (result.outcome === "unfinished") throw conflict(result.reason);
    if (result.outcome === "no-pipeline") throw new HttpError(422, result.reason);
    const steps = await ctx.models.Step.findAll({ where: { buildId: result.build.id }, order: [["index", "ASC"]] });
    res.status(201).json(buildJson(result.build, app.repository, steps));
  };
}
