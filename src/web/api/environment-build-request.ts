import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import { badRequest } from "../../http/http-error";
import type { DeploymentsApiDeps } from "./deployments-deps";
import { findBuild } from "./find-build";
import { environmentParam } from "./find-environment";
import { tenantOf } from "../../http/tenant-auth";

/**
 * What a Promote or Redeploy request names: the tenant's application (`:id`), its environment (`:name`) and one of
 * its builds (`{"buildId": 123}` in the body); 400 naming what is wrong, 404 for what is not the tenant's.
 */
export async function environmentBuildRequest(deps: DeploymentsApiDeps, req: Request, res: Response, verb: string) {
  const { ctx } = deps;
  const tenant = tenantOf(res);
  const app = await findApplication(ctx.models, tenant.id, req.params.id);
  const env = await environmentParam(ctx.models, app, req.params.name);
  const buildId = (req.body as { buildId?: unknown } | undefined)?.buildId;
  if (!Number.isSafeInteger(buildId) || (buildId as number) < 1) throw badRequest(`the body must name the build to ${verb}: {"buildId": 123}`);
  const { build } = await findBuild(ctx.models, tenant.id, String(buildId));
  if (build.applicationId !== app.id) throw badRequest(`build ${String(buildId)} is not a build of ${app.repository}`);
  return { ctx, tenant, app, env, build };
}
