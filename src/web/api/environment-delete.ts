import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import { deleteEnvironment } from "../../deployments/manage-environments";
import { actorDeps, type DeploymentsApiDeps } from "./deployments-deps";
import { environmentParam } from "./find-environment";
import { requireRepositoryAdmin } from "./require-admin";
import { tenantOf } from "../../http/tenant-auth";

/**
 * DELETE /api/applications/:id/environments/:name — removes it with its variables and history: 204; 409 while a
 * deployment to it runs or waits; an admins-only environment only a repository admin may remove.
 */
export function environmentDelete(deps: DeploymentsApiDeps) {
  return async (req: Request, res: Response) => {
    const { models } = deps.ctx;
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    const env = await environmentParam(models, app, req.params.name);
    if (env.adminsOnly) await requireRepositoryAdmin(actorDeps(deps), req, res, app, env.name);
    await deleteEnvironment(models, app, env);
    res.status(204).end();
  };
}
