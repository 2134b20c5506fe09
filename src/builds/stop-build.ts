import { Op, type Transaction } from "sequelize";
import type { Application, Build, Tenant } from "../db/models";
import { queueCommitStatus } from "./commit-status";
import type { EngineContext } from "./engine-context";

const ACTIVE_STATES = ["QUEUED", "RUNNING", "PAUSED"];

/**
 * Stops a build that has not finished: state STOPPED with `reason`, its queued jobs dropped, steps not started
 * marked NOT_RUN, and a STOPPED commit status queued. A runner working on it learns at its next heartbeat and
 * stops the running step (TERM, then KILL). Returns false when the build had already finished.
 */
export async function stopBuild(ctx: EngineContext, tenant: Tenant, app: Application, build: Build, reason: string, tx: Transaction): Promise<boolean> {
  const { models } = ctx;
  await build.reload({ transaction: tx, lock: tx.LOCK.UPDATE });
  if (!ACTIVE_STATES.includes(build.state)) return false;
  const leased = await models.Job.count({ where: { buildId: build.id, state: "leased" }, transaction: tx });
  await build.update({ state: "STOPPED", stateReason: reason, finishedAt: new Date() }, { transaction: tx });
  await models.Job.update({ state: "done", leaseToken: null }, { where: { buildId: build.id, state: "queued" }, transaction: tx });
  await models.Step.update({ state: "NOT_RUN" }, { where: { buildId: build.id, state: { [Op.in]: ["PENDING", "WAITING"] } }, transaction: tx });
  // Without a runner holding it, nothing else will end a step marked running.
  if (leased === 0) await models.Step.update({ state: "STOPPED", finishedAt: new Date() }, { where: { buildId: build.id, state: "RUNNING" }, transaction: tx });
  const url = ctx.forgeFor(tenant).buildPageUrl(tenant, app.repository, build);
  await queueCommitStatus(models, build, app.repository, url, "STOPPED", reason, tx);
  // Its deployments end, and what its steps held or waited for goes to the next in line, once this is committed.
  const gate = ctx.gate;
  if (gate) tx.afterCommit(() => gate.settle(build).catch((err: unknown) => ctx.log.error("releasing a stopped build's environments failed", { build: build.id, error: (err as Error).message })));
  return true;
}

/**
 * Auto-cancel: stops the unfinished builds of older commits on the same ref as `build` (same branch or tag; for a
 * pull request, the same pull request). A build whose running step has a `deployment` is left to finish: a
 * deployment is never interrupted halfway.
 */
export async function supersedeOlderBuilds(ctx: EngineContext, tenant: Tenant, app: Application, build: Build, tx: Transaction): Promise<number[]> {
  const { models } = ctx;
  const sameRef =
    build.refType === "pull-request"
      ? { refType: "pull-request", pullRequestId: build.pullRequestId }
      : { refType: build.refType, refName: build.refName, trigger: "push" };
  const older = await models.Build.findAll({
    where: { applicationId: app.id, tenantId: tenant.id, ...sameRef, id: { [Op.lt]: build.id }, state: { [Op.in]: ACTIVE_STATES }, commit: { [Op.ne]: build.commit } },
    transaction: tx,
  });
  const stopped: number[] = [];
  for (const old of older) {
    const deploying = await models.Step.count({ where: { buildId: old.id, state: "RUNNING", deployment: { [Op.ne]: null } }, transaction: tx });
    if (deploying > 0) continue;
    if (await stopBuild(ctx, tenant, app, old, `superseded by #${build.number} (a newer commit on ${build.refName})`, tx)) stopped.push(old.id);
  }
  return stopped;
}
