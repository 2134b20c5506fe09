import { Op } from "sequelize";
import type { TenantRevoker } from "../tenants/revoke-tenant";
import type { EngineContext } from "./engine-context";
import { stopBuild } from "./stop-build";

/** On uninstall or disconnect: every queued, running or paused build of the tenant is stopped. */
export function stopBuildsOnRevoke(ctx: EngineContext): TenantRevoker {
  return async (tenant, tx) => {
    const builds = await ctx.models.Build.findAll({ where: { tenantId: tenant.id, state: { [Op.in]: ["QUEUED", "RUNNING", "PAUSED"] } }, transaction: tx });
    for (const build of builds) {
      const app = await ctx.models.Application.findByPk(build.applicationId, { transaction: tx });
      if (app) await stopBuild(ctx, tenant, app, build, "Pipelines was uninstalled from this workspace", tx);
    }
  };
}
