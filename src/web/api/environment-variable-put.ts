import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import { VARIABLE_NAME } from "../../applications/application-input";
import { badRequest } from "../../http/http-error";
import { actorDeps, type DeploymentsApiDeps } from "./deployments-deps";
import { environmentParam } from "./find-environment";
import { requireRepositoryAdmin } from "./require-admin";
import { tenantOf } from "../../http/tenant-auth";

/**
 * PUT /api/applications/:id/environments/:name/variables/:variable `{value, secured?}` — sets a deployment variable
 * (stored encrypted; a secured one is write-only and masked in logs). 204. An admins-only environment's variables only
 * a repository admin may change.
 */
export function environmentVariablePut(deps: DeploymentsApiDeps) {
  return async (req: Request, res: Response) => {
    const { models } = deps.ctx;
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    const env = await environmentParam(models, app, req.params.name);
    const name = req.params.variable;
    if (!VARIABLE_NAME.test(name) || name.startsWith("BITBUCKET_")) throw badRequest("a variable name is letters, digits and _, not starting with a digit or BITBUCKET_");
    const { value, secured } = (req.body ?? {}) as { value?: unknown; secured?: unknown };
    if (typeof value !== "string" || value.length > 32 * 1024) throw badRequest("value must be a string of at most 32 KiB");
    if (secured !== undefined && typeof secured !== "boolean") throw badRequest("secured must be true or false");
    if (env.adminsOnly) await requireRepositoryAdmin(actorDeps(deps), req, res, app, `The variables of ${env.name}`);
    const existing = await models.EnvironmentVariable.findOne({ where: { environmentId: env.id, name } });
    if (existing) await existing.update({ value, secured: secured ?? existing.secured });
    else await models.EnvironmentVariable.create({ tenantId: app.tenantId, environmentId: env.id, name, value, secured: secured ?? false });
    res.status(204).end();
  };
}
