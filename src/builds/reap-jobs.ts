import { Op } from "sequelize";
import { expiredLeases } from "../queue/lease-queue";
import { queueCommitStatus } from "./commit-status";
import type { EngineContext } from "./engine-context";

/** A build whose runner was lost is started over this many times, then failed. */
export const MAX_LOST_RUNNER_RETRIES = 1;

/**
 * Finds jobs whose runner stopped renewing its lease (crashed, killed, cut off) and deals with each once: the
 * build starts over from the job's first step on another claim (its partial logs are replaced), or, when it was
 * already retried, fails with a reason that says the runner was lost. A build stopped meanwhile stays stopped.
 * Returns the number of jobs reaped.
 */
export async function reapExpiredJobs(ctx: EngineContext): Promise<number> {
  const { models } = ctx;
  const jobs = await expiredLeases(models);
  let reaped = 0;
  const settled = new Set<number>();
  for (const expired of jobs) {
    const done = await models.sequelize.transaction(async (tx) => {
      // Locked (Postgres: FOR UPDATE): when two web processes reap at once, the second waits for the first and then
      // finds the job no longer leased, so a job is reaped once.
      const job = await models.Job.findOne({ where: { id: expired.id, state: "leased", leaseToken: expired.leaseToken }, transaction: tx, lock: true });
      if (!job || !job.leaseExpiresAt || job.leaseExpiresAt.getTime() >= Date.now()) return false;
      const build = await models.Build.findByPk(job.buildId, { transaction: tx });
      const app = build && (await models.Application.findByPk(build.applicationId, { transaction: tx }));
      const tenant = build && (await models.Tenant.findByPk(build.tenantId, { transaction: tx }));
      if (!build || !app || !tenant || build.state === "STOPPED" || build.state === "FAILED" || build.state === "SUCCESSFUL") {
        await job.update({ state: "done", leaseToken: null }, { transaction: tx });
        if (build) await models.Step.update({ state: "STOPPED", finishedAt: new Date() }, { where: { buildId: build.id, state: "RUNNING" }, transaction: tx });
        return true;
      }
      const lostFor = Math.round((Date.now() - job.leaseExpiresAt.getTime()) / 1000);
      const runner = job.leaseOwner;
      if (build.retries < MAX_LOST_RUNNER_RETRIES && tenant.status === "active") {
        const steps = await models.Step.findAll({ where: { buildId: build.id, index: { [Op.gte]: job.startStep } }, transaction: tx });
        const ids = steps.map((s) => s.id);
        await models.LogChunk.destroy({ where: { stepId: { [Op.in]: ids } }, transaction: tx });
        await models.StepTestReport.destroy({ where: { stepId: { [Op.in]: ids } }, transaction: tx });
        await models.Step.update({ state: "PENDING", exitCode: null, logBytes: 0, startedAt: null, finishedAt: null }, { where: { id: { [Op.in]: ids } }, transaction: tx });
        await job.update({ state: "queued", leaseToken: null, leaseOwner: null, leaseExpiresAt: null }, { transaction: tx });
        await build.update({ state: "QUEUED", retries: build.retries + 1, stateReason: `the runner ${runner ?? ""} stopped responding; started again` }, { transaction: tx });
        ctx.log.warn("runner lost; build queued again", { build: build.id, runner, expiredSeconds: lostFor });
        return true;
      }
      const reason = `the runner ${job.leaseOwner ?? ""} stopped responding (its lease expired)${build.retries > 0 ? " again after a retry" : ""}`.replace("  ", " ");
      await job.update({ state: "done", leaseToken: null }, { transaction: tx });
      await models.Step.update({ state: "FAILED", finishedAt: new Date() }, { where: { buildId: build.id, state: "RUNNING" }, transaction: tx });
      await models.Step.update({ state: "NOT_RUN" }, { where: { buildId: build.id, state: { [Op.in]: ["PENDING", "WAITING"] } }, transaction: tx });
      await build.update({ state: "FAILED", stateReason: reason, finishedAt: new Date() }, { transaction: tx });
      await queueCommitStatus(models, build, app.repository, ctx.forgeFor(tenant).buildPageUrl(tenant, app.repository, build), "FAILED", reason, tx);
      return true;
    });
    if (done) reaped++;
    if (done && !settled.has(expired.buildId)) {
      settled.add(expired.buildId);
      const build = await models.Build.findByPk(expired.buildId);
      if (build) await ctx.gate?.settle(build);
    }
  }
  if (reaped > 0) {
    ctx.notify?.jobQueued?.();
    ctx.notify?.statusQueued?.();
  }
  return reaped;
}
