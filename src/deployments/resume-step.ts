import type { EngineContext } from "../builds/engine-context";
import { queueCommitStatus } from "../builds/commit-status";
import { lockApplicationDeployments } from "./application-lock";
import { openDeployment } from "./deployment-records";
import type { StepRef } from "./step-locks";
import { jobRunsOnOf } from "../queue/job-labels";

/** Thrown inside the transaction to roll it back when the step is not the one the build waits at. */
class NotWaiting extends Error {}

/**
 * A step that waited for its environment or concurrency group holds it now: its paused build is queued again with a
 * job that starts at that step — the same path as a person starting a manual step. Guarded by the states it leaves
 * (the build PAUSED, the step PENDING), so running it twice, or for a build that is not waiting there, does nothing.
 * Returns whether a job was queued.
 */
export async function resumeStep(ctx: EngineContext, ref: StepRef): Promise<boolean> {
  const { models } = ctx;
  const build = await models.Build.findByPk(ref.buildId);
  if (!build || build.state !== "PAUSED") return false;
  const [tenant, app] = await Promise.all([models.Tenant.findByPk(build.tenantId), models.Application.findByPk(build.applicationId)]);
  if (!tenant || !app) return false;
  try {
    await models.sequelize.transaction(async (tx) => {
      await lockApplicationDeployments(models, build.applicationId, tx);
      const step = await models.Step.findOne({ where: { buildId: build.id, index: ref.stepIndex }, transaction: tx });
      if (!step || step.state !== "PENDING") throw new NotWaiting();
      const [n] = await models.Build.update({ state: "QUEUED", stateReason: null }, { where: { id: build.id, state: "PAUSED" }, transaction: tx });
      if (n !== 1) throw new NotWaiting();
      await models.Job.create({ tenantId: build.tenantId, buildId: build.id, startStep: ref.stepIndex, state: "queued", runsOn: jobRunsOnOf(build.plan, ref.stepIndex) }, { transaction: tx });
      const deployment = await openDeployment(models, build.id, ref.stepIndex, tx);
      if (deployment) await deployment.update({ reason: "waiting for a runner" }, { transaction: tx });
      await build.reload({ transaction: tx });
      const url = ctx.forgeFor(tenant).buildPageUrl(tenant, app.repository, build);
      await queueCommitStatus(models, build, app.repository, url, "INPROGRESS", `starting the step "${step.name}"`, tx);
    });
  } catch (err) {
    if (err instanceof NotWaiting) return false;
    throw err;
  }
  ctx.notify?.jobQueued?.();
  ctx.notify?.statusQueued?.();
  return true;
}
