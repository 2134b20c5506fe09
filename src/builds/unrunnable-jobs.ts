import { Op } from "sequelize";
import type { Job } from "../db/models";
import { parseRunsOn } from "../queue/job-labels";
import { connectedLabelSets } from "../runner/runner-registry";
import { queueCommitStatus } from "./commit-status";
import type { EngineContext } from "./engine-context";

/** What a build waiting for labels no runner has says (its page shows it; the prefix finds it again). */
export const NO_RUNNER_PREFIX = "waiting: no runner with labels ";

export function noRunnerReason(labels: readonly string[]): string {
  return `${NO_RUNNER_PREFIX}${labels.join(", ")}`;
}

/** 2.5 h, 90 min, 5 s: a queue timeout as people read it. */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000) return `${Number((ms / 3_600_000).toFixed(2))} h`;
  if (ms >= 60_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/**
 * Queued jobs whose `runs-on` labels no connected runner (seen within RUNNER_RECENT_MS) has: their build says
 * "waiting: no runner with labels a, b" (cleared again once such a runner is seen), and a job queued longer than
 * `queueTimeoutMs` fails — its first step FAILED with the reason as its log, the steps after it NOT_RUN, the build
 * FAILED and a FAILED commit status. Each job is failed once across web processes (a conditional update of the
 * job from queued to done; a runner claiming it first wins). The work is per distinct label set, not per job: a
 * deep queue costs a few statements per tick. Nothing fails before `failFrom` (ms since the epoch): a web process
 * that just started gives runners time to come back first. Returns the number of jobs failed.
 */
export async function settleUnrunnableJobs(ctx: EngineContext, queueTimeoutMs: number, now = new Date(), failFrom = 0): Promise<number> {
  const { models } = ctx;
  const sets = (await models.Job.findAll({ where: { state: "queued", runsOn: { [Op.ne]: null } }, attributes: ["runsOn"], group: ["runsOn"], raw: true })) as Array<{ runsOn: string }>;
  if (sets.length === 0) return 0;
  const runners = await connectedLabelSets(models, now);
  let failed = 0;
  for (const { runsOn } of sets) {
    const needed = parseRunsOn(runsOn);
    const waitingBuilds = { [Op.in]: models.sequelize.literal(`(SELECT build_id FROM jobs WHERE state = 'queued' AND runs_on = ${models.sequelize.escape(runsOn)})`) };
    if (runners.some((has) => needed.every((l) => has.includes(l)))) {
      await models.Build.update({ stateReason: null }, { where: { id: waitingBuilds, state: "QUEUED", stateReason: { [Op.like]: `${NO_RUNNER_PREFIX}%` } } });
      continue;
    }
    const reason = noRunnerReason(needed);
    await models.Build.update({ stateReason: reason }, { where: { id: waitingBuilds, state: "QUEUED", [Op.or]: [{ stateReason: null }, { stateReason: { [Op.ne]: reason } }] } });
    if (now.getTime() < failFrom) continue;
    const overdue = await models.Job.findAll({ where: { state: "queued", runsOn, updatedAt: { [Op.lte]: new Date(now.getTime() - queueTimeoutMs) } }, order: [["id", "ASC"]], limit: 100 });
    for (const job of overdue) {
      if (await failJob(ctx, job, `${reason} (none was connected within the queue timeout of ${formatDuration(queueTimeoutMs)})`)) failed++;
    }
  }
  if (failed > 0) ctx.notify?.statusQueued?.();
  return failed;
}

async function failJob(ctx: EngineContext, queued: Job, reason: string): Promise<boolean> {
  const { models } = ctx;
  const build = await models.Build.findByPk(queued.buildId);
  const app = build && (await models.Application.findByPk(build.applicationId));
  const tenant = build && (await models.Tenant.findByPk(build.tenantId));
  if (!build || !app || !tenant) return false;
  const log = Buffer.from(`[pipelines] this step cannot run: ${reason}\n`);
  const done = await models.sequelize.transaction(async (tx) => {
    const [taken] = await models.Job.update({ state: "done", leaseToken: null }, { where: { id: queued.id, state: "queued" }, transaction: tx });
    if (taken !== 1) return false;
    await build.reload({ transaction: tx });
    if (build.state !== "QUEUED") return true;
    const step = await models.Step.findOne({ where: { buildId: build.id, index: queued.startStep }, transaction: tx });
    const at = new Date();
    if (step) {
      await models.LogChunk.destroy({ where: { stepId: step.id }, transaction: tx });
      await models.LogChunk.create({ stepId: step.id, offset: 0, data: log, createdAt: at }, { transaction: tx });
      await step.update({ state: "FAILED", exitCode: null, logBytes: log.length, startedAt: at, finishedAt: at }, { transaction: tx });
    }
    await models.Step.update({ state: "NOT_RUN" }, { where: { buildId: build.id, state: { [Op.in]: ["PENDING", "WAITING"] } }, transaction: tx });
    await build.update({ state: "FAILED", stateReason: reason, finishedAt: at }, { transaction: tx });
    await queueCommitStatus(models, build, app.repository, ctx.forgeFor(tenant).buildPageUrl(tenant, app.repository, build), "FAILED", reason, tx);
    return true;
  });
  if (!done) return false;
  ctx.log.warn("a job no runner could take failed after the queue timeout", { build: build.id, job: queued.id, runsOn: queued.runsOn });
  ctx.notify?.stepChanged?.(build.id, queued.startStep);
  await ctx.gate?.settle(build);
  return true;
}
