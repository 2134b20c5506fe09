import { Op } from "sequelize";
import type { EngineContext } from "../builds/engine-context";
import type { Build, Environment } from "../db/models";

/** Commits counted at most (a longer history shows as this many). */
export const MAX_COMMITS_COUNTED = 1000;

/**
 * Records how many commits the deployment of `build`'s step to `env` brings since the previous successful
 * deployment there (asked of Bitbucket; left unknown when there was none or Bitbucket cannot say).
 */
export async function fillCommitsSincePrevious(ctx: EngineContext, build: Build, env: Environment, stepIndex: number): Promise<void> {
  const { models } = ctx;
  const current = await models.Deployment.findOne({ where: { buildId: build.id, stepIndex, environmentId: env.id }, order: [["id", "DESC"]] });
  if (!current) return;
  const previous = await models.Deployment.findOne({ where: { environmentId: env.id, state: "SUCCESSFUL", id: { [Op.lt]: current.id } }, order: [["id", "DESC"]], attributes: ["commit"] });
  if (!previous) return;
  let count: number | null = 0;
  if (previous.commit !== build.commit) {
    const [tenant, app] = await Promise.all([models.Tenant.findByPk(build.tenantId), models.Application.findByPk(build.applicationId)]);
    if (!tenant || !app) return;
    count = await ctx.forgeFor(tenant).countCommits(tenant, app.repository, previous.commit, build.commit, MAX_COMMITS_COUNTED);
  }
  if (count !== null) await models.Deployment.update({ commitsSincePrevious: count }, { where: { id: current.id } });
}
