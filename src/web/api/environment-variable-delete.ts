import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import { notFound } from "../../http/http-error";
import { actorDeps, type DeploymentsApiDeps } from "./deployments-deps";
import { environmentParam } from "./find-environment";
import { requireRepositoryAdmin } from "./require-admin";
import { tenantOf } from "../../http/tenant-auth";

/** DELETE /api/applications/:id/environments/:name/variables/:variable — 204; 404 when there is no such variable. */
export function environmentVariableDelete(deps: DeploymentsApiDeps) {
  return async (req: Request, res: Response) => {
    const { models } = deps.ctx;
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    const env = await environmentParam(models, app, req.params.name);
    if (env.adminsOnly) await requireRepositoryAdmin(actorDeps(deps), req, res, app, `The variables of ${env.name}`);
    const n = await models.EnvironmentVariable.destroy({ where: { environmentId: env.id, name: req.params.variable } });
    if (!n) throw notFound(`${env.name} has no variable ${req.params.variable}`);
    res.status(204).end();
  };
}
