import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import { environmentsJson } from "../../deployments/deployment-json";
import { parseEnvironmentInput } from "../../deployments/environment-input";
import { updateEnvironment } from "../../deployments/manage-environments";
import { actorDeps, type DeploymentsApiDeps } from "./deployments-deps";
import { environmentParam } from "./find-environment";
import { requireRepositoryAdmin } from "./require-admin";
import { tenantOf } from "../../http/tenant-auth";

/**
 * PATCH /api/applications/:id/environments/:name — rename, re-type, move (`rank`) or restrict an environment. Its
 * restrictions (`branches`, `adminsOnly`), and anything of an admins-only environment, only a repository admin may
 * change (asked of Bitbucket). 200 with the environment.
 */
export function environmentPatch(deps: DeploymentsApiDeps) {
  return async (req: Request, res: Response) => {
    const { models } = deps.ctx;
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    const env = await environmentParam(models, app, req.params.name);
    const input = parseEnvironmentInput(req.body, false);
    if (env.adminsOnly || input.branches !== undefined || input.adminsOnly !== undefined) await requireRepositoryAdmin(actorDeps(deps), req, res, app, `The restrictions of ${env.name}`);
    const [json] = await environmentsJson(models, [await updateEnvironment(models, app, env, input)]);
    res.json(json);
  };
}
