import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import type { Models } from "../../db/models";
import { environmentsJson } from "../../deployments/deployment-json";
import { listEnvironments } from "../../deployments/environments";
import { tenantOf } from "../../http/tenant-auth";

/** GET /api/applications/:id/environments — `{values: [{name, type, rank, restrictions, current}]}`, in order. */
export function environmentsGet(models: Models) {
  return async (req: Request, res: Response) => {
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    res.json({ values: await environmentsJson(models, await listEnvironments(models, app.id)) });
  };
}
