import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import type { Models } from "../../db/models";
import { environmentsJson } from "../../deployments/deployment-json";
import { parseEnvironmentInput } from "../../deployments/environment-input";
import { createEnvironment } from "../../deployments/manage-environments";
import { tenantOf } from "../../http/tenant-auth";

/** POST /api/applications/:id/environments `{name, type, rank?, branches?, adminsOnly?}` — 201 with the environment; 409 when the name is taken. */
export function environmentsPost(models: Models) {
  return async (req: Request, res: Response) => {
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    const env = await createEnvironment(models, app, parseEnvironmentInput(req.body, true));
    const [json] = await environmentsJson(models, [env]);
    res.status(201).json(json);
  };
}
