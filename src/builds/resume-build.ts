import type { Application, Build, Tenant } from "../db/models";
import { queueCommitStatus } from "./commit-status";
import type { EngineContext } from "./engine-context";
import { jobRunsOnOf } from "../queue/job-labels";

export type RunManualStepResult =
  | { outcome: "queued"; build: Build }
  /** The build has no step with that index. */
  | { outcome: "no-step"; reason: string }
  /** The build is not paused, or the step is not the one waiting for a person. */
  | { outcome: "conflict"; reason: string };

/** Thrown inside the transaction to roll it back when a guarded update finds the row changed meanwhile. */
class Changed extends Error {}

/**
 * Starts the manual step a paused build waits for. In one transaction: the step goes back to PENDING, the build to
 * QUEUED, a job that starts at that step is queued, and the commit status says INPROGRESS again. Both updates are
 * guarded by the state they leave (PAUSED, WAITING), so two people pressing "Run" at once make one job.
 */
export async function runManualStep(ctx: EngineContext, tenant: Tenant, app: Application, build: Build, index: number): Promise<RunManualStepResult> {
  const { models } = ctx;
  const step = await models.Step.findOne({ where: { buildId: build.id, index } });
  if (!step) return { outcome: "no-step", reason: `build #${build.number} has no step ${index}` };
  const conflict = (b: Build): RunManualStepResult => ({
    outcome: "conflict",
    reason:
      b.state !== "PAUSED"
        ? `build #${b.number} is ${b.state}, not paused: only a paused build's waiting manual step can be run`
        : `step ${index} ("${step.name}") is not the manual step build #${b.number} waits for`,
  });
  if (build.state !== "PAUSED" || step.state !== "WAITING") return conflict(build);

  try {
    await models.sequelize.transaction(async (tx) => {
      const [builds] = await models.Build.update({ state: "QUEUED", stateReason: null }, { where: { id: build.id, state: "PAUSED" }, transaction: tx });
      const [steps] = await models.Step.update({ state: "PENDING" }, { where: { id: step.id, state: "WAITING" }, transaction: tx });
      if (builds !== 1 || steps !== 1) throw new Changed();
      await models.Job.create({ tenantId: build.tenantId, buildId: build.id, startStep: index, state: "queued", runsOn: jobRunsOnOf(build.plan, index) }, { transaction: tx });
      await build.reload({ transaction: tx });
      const url = ctx.forgeFor(tenant).buildPageUrl(tenant, app.repository, build);
      await queueCommitStatus(models, build, app.repository, url, "INPROGRESS", `running the manual step "${step.name}"`, tx);
    });
  } catch (err) {
    if (!(err instanceof Changed)) throw err;
    await build.reload();
    return conflict(build);
  }
  ctx.notify?.jobQueued?.();
  ctx.notify?.statusQueued?.();
  return { outcome: "queued", build };
}
