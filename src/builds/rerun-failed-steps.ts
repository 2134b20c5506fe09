import { randomUUID } from "node:crypto";
import type { Application, Build, Step, Tenant } from "../db/models";
import type { Plan } from "../pipelines";
import { manualBuildKey } from "./build-key";
import { queueCommitStatus } from "./commit-status";
import { allocateBuildNumber } from "./create-build";
import type { EngineContext } from "./engine-context";
import { jobRunsOnOf } from "../queue/job-labels";

export type RerunFailedResult =
  | { outcome: "built"; build: Build; reused: number; from: number }
  /** Nothing to re-run: the build has not finished, or no step of it failed. */
  | { outcome: "refused"; reason: string };

const PASSED = ["SUCCESSFUL", "SKIPPED", "REFUSED"];

/**
 * Where "Re-run failed steps" starts: the first step that did not pass, moved back to the start of its parallel
 * group (a group runs together) and of its stage (a stage is re-run whole, as Bitbucket does). Null when every step
 * passed (a step whose failure the file ignores, `on-fail: ignore`, passed for this).
 */
export function rerunStart(plan: Plan, steps: readonly Pick<Step, "index" | "state">[]): number | null {
  const failed = [...steps]
    .sort((a, b) => a.index - b.index)
    .find((s) => !PASSED.includes(s.state) && !((s.state === "FAILED" || s.state === "TIMED_OUT") && plan.steps[s.index]?.ignoreFailure));
  if (!failed) return null;
  let start = failed.index;
  const group = plan.steps[start]?.parallelGroup;
  if (group !== undefined) while (start > 0 && plan.steps[start - 1]?.parallelGroup === group) start--;
  const stage = plan.stages.find((st) => st.stepIndexes.includes(start));
  if (stage && stage.stepIndexes.length) start = Math.min(start, ...stage.stepIndexes);
  return start;
}

/**
 * "Re-run failed steps": a new build of the same commit and the same plan (not read again from Bitbucket: the
 * steps it reuses must be the ones that ran) that takes over the results of the steps before the first failed step
 * or stage — their state, log, output variables, test reports and artifacts, marked `reusedFrom` — and runs from
 * there on.
 */
export async function rerunFailedSteps(ctx: EngineContext, tenant: Tenant, app: Application, original: Build, startedBy: string | null = null): Promise<RerunFailedResult> {
  const { models } = ctx;
  if (original.state !== "FAILED" && original.state !== "STOPPED") {
    return { outcome: "refused", reason: `build #${original.number} is ${original.state}: only a failed or stopped build has failed steps to run again` };
  }
  if (original.trigger === "redeploy") {
    return { outcome: "refused", reason: `build #${original.number} is a redeploy: use Redeploy to run it again with its original's artifacts` };
  }
  const plan = original.plan ? (JSON.parse(original.plan) as Plan) : null;
  const steps = await models.Step.findAll({ where: { buildId: original.id }, order: [["index", "ASC"]] });
  const start = plan ? rerunStart(plan, steps) : null;
  if (!plan || start === null || steps.length !== plan.steps.length) {
    return { outcome: "refused", reason: `build #${original.number} has no failed step to run again; use Re-run` };
  }
  const forge = ctx.forgeFor(tenant);
  const build = await models.sequelize.transaction(async (tx) => {
    const number = await allocateBuildNumber(ctx, app, tx);
    const b = await models.Build.create(
      {
        tenantId: tenant.id,
        applicationId: app.id,
        number,
        buildKey: manualBuildKey(app.id, randomUUID()),
        trigger: "rerun",
        refType: original.refType,
        refName: original.refName,
        commit: original.commit,
        pullRequestId: original.pullRequestId,
        destinationBranch: original.destinationBranch,
        pipelineName: original.pipelineName,
        pipelineKey: original.pipelineKey,
        state: "QUEUED",
        plan: original.plan,
        warnings: original.warnings,
        baseCommit: original.baseCommit,
        variables: original.variables,
        rerunOf: original.id,
        commitMessage: original.commitMessage,
        commitAuthor: original.commitAuthor,
        startedBy: startedBy ? startedBy.slice(0, 255) : null,
      },
      { transaction: tx },
    );
    for (const s of steps) {
      const reused = s.index < start;
      const copy = await models.Step.create(
        {
          tenantId: tenant.id,
          buildId: b.id,
          index: s.index,
          name: s.name,
          manual: s.manual,
          deployment: s.deployment,
          ...(reused
            ? { state: s.state, exitCode: s.exitCode, logBytes: s.logBytes, startedAt: s.startedAt, finishedAt: s.finishedAt, executor: s.executor, runnerName: s.runnerName, outputVariables: s.outputVariables, reusedFrom: original.id }
            : { state: "PENDING" as const }),
        },
        { transaction: tx },
      );
      if (!reused) continue;
      // Its log, as it was (copied inside the database, never through this process whole).
      await models.sequelize.query('INSERT INTO log_chunks (step_id, "offset", data, created_at) SELECT $1, "offset", data, created_at FROM log_chunks WHERE step_id = $2', {
        bind: [copy.id, s.id],
        transaction: tx,
      });
      const report = await models.StepTestReport.findOne({ where: { stepId: s.id }, transaction: tx });
      if (report) {
        const { files, passed, failed, skipped, failures, unreadable } = report;
        await models.StepTestReport.create({ tenantId: tenant.id, stepId: copy.id, files, passed, failed, skipped, failures, unreadable }, { transaction: tx });
      }
    }
    await ctx.artifacts.reuse(original, b, steps.filter((s) => s.index < start).map((s) => s.index), tx);
    await models.Job.create({ tenantId: tenant.id, buildId: b.id, startStep: start, state: "queued", runsOn: jobRunsOnOf(original.plan, start) }, { transaction: tx });
    await queueCommitStatus(models, b, app.repository, forge.buildPageUrl(tenant, app.repository, b), "INPROGRESS", `re-running the failed steps of #${original.number}`, tx);
    return b;
  });
  ctx.notify?.jobQueued?.();
  ctx.notify?.statusQueued?.();
  return { outcome: "built", build, reused: start, from: original.id };
}
