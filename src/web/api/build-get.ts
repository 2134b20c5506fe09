import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import { buildJson } from "../../builds/build-json";
import { tenantOf } from "../../http/tenant-auth";
import { findBuild } from "./find-build";

/** GET /api/builds/:id — a build with its steps. */
export function buildGet(models: Models) {
  return async (req: Request, res: Response) => {
    const { build, app } = await findBuild(models, tenantOf(res).id, req.params.id);
    const steps = await models.Step.findAll({ where: { buildId: build.id }, order: [["index", "ASC"]] });
    res.json(buildJson(build, app.repository, steps));
  };
}
