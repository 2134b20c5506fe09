import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import type { Models } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";
import { environmentParam } from "./find-environment";
import { tenantOf } from "../../http/tenant-auth";

/** GET /api/applications/:id/environments/:name/variables — `{values: [{name, secured, value}]}`; a secured value is null. */
export function environmentVariablesGet(models: Models) {
  return async (req: Request, res: Response) => {
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    const env = await environmentParam(models, app, req.params.name);
    const vars = await models.EnvironmentVariable.findAll({ where: { environmentId: env.id, tenantId: app.tenantId }, order: [["name", "ASC"]] });
    // Secured values are write-only: their value never leaves the service.
    res.json({ values: vars.map((v) => ({ name: v.name, secured: v.secured, value: v.secured ? null : revealSecret(v, "value") })) });
  };
}
