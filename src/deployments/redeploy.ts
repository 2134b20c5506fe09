import { randomUUID } from "node:crypto";
import { manualBuildKey } from "../builds/build-key";
import { queueCommitStatus } from "../builds/commit-status";
import { allocateBuildNumber } from "../builds/create-build";
import type { EngineContext } from "../builds/engine-context";
import type { Application, Build, Deployment, Environment, Tenant } from "../db/models";
import type { Plan, StepPlan } from "../pipelines";
import { adminRefusal, type Actor } from "./actor";
import { lockApplicationDeployments } from "./application-lock";
import { environmentKey } from "./environments";
import { jobRunsOn } from "../queue/job-labels";

export type RedeployResult =
  | { outcome: "queued"; build: Build; deployment: Deployment }
  | { outcome: "forbidden"; reason: string }
  /** The build has no step that deploys to the environment. */
  | { outcome: "invalid"; reason: string };

/** The step of `build` that deploys to `env`: the one that last deployed there successfully, else the last one naming it. */
async function deployingStep(ctx: EngineContext, build: Build, env: Environment): Promise<StepPlan | null> {
  const plan = JSON.parse(build.plan ?? "null") as Plan | null;
  const candidates = (plan?.steps ?? []).filter((s) => s.deployment !== undefined && environmentKey(s.deployment) === env.nameKey);
  if (candidates.length === 0) return null;
  const done = await ctx.models.Deployment.findOne({ where: { buildId: build.id, environmentId: env.id, state: "SUCCESSFUL" }, order: [["id", "DESC"]] });
  return candidates.find((s) => s.index === done?.stepIndex) ?? candidates[candidates.length - 1];
}

/**
 * Redeploy (a rollback): runs `original`'s step that deploys to `env` again, on its commit and with its artifacts, as
 * a new build (trigger `redeploy`, one step, `rerunOf` the build whose artifacts it gets) — through the same one-at-a-
 * time lock and branch restrictions as any deployment. To an admins-only environment only a repository admin may.
 */
export async function redeploy(ctx: EngineContext, tenant: Tenant, app: Application, env: Environment, original: Build, actor: Actor): Promise<RedeployResult> {
  const { models } = ctx;
  const step = await deployingStep(ctx, original, env);
  if (!step) return { outcome: "invalid", reason: `build #${original.number} has no step that deploys to ${env.name}` };
  let approved = false;
  if (env.adminsOnly) {
    const refusal = await adminRefusal(actor, env.name, app.repository);
    if (refusal) return { outcome: "forbidden", reason: refusal };
    approved = true;
  }
  const plan = JSON.parse(original.plan ?? "null") as Plan;
  // Alone in its build: not manual (the person just started it), not in a group, no changeset condition to skip it.
  const only: StepPlan = { ...step, index: 0, manual: false, failFast: false, warnings: [] };
  delete only.parallelGroup;
  delete only.condition;
  delete only.stageName;
  const redeployPlan: Plan = { ...plan, stages: [], steps: [only], warnings: [] };
  // The build that made the artifacts (a redeploy of a redeploy gets the first one's).
  const artifactsOf = original.trigger === "redeploy" && original.rerunOf !== null ? original.rerunOf : original.id;
  const forge = ctx.forgeFor(tenant);
  const { build, deployment } = await models.sequelize.transaction(async (tx) => {
    await lockApplicationDeployments(models, app.id, tx);
    const number = await allocateBuildNumber(ctx, app, tx);
    const b = await models.Build.create(
      {
        tenantId: tenant.id,
        applicationId: app.id,
        number,
        buildKey: manualBuildKey(app.id, randomUUID()),
        trigger: "redeploy",
        refType: original.refType,
        refName: original.refName,
        commit: original.commit,
        pullRequestId: original.pullRequestId,
        destinationBranch: original.destinationBranch,
        pipelineName: `redeploy of #${original.number} to ${env.name}`.slice(0, 300),
        pipelineKey: `redeploy/${env.nameKey}`.slice(0, 300),
        state: "QUEUED",
        plan: JSON.stringify(redeployPlan),
        variables: original.variables,
        rerunOf: artifactsOf,
      },
      { transaction: tx },
    );
    await models.Step.create({ tenantId: tenant.id, buildId: b.id, index: 0, name: step.name, state: "PENDING", manual: false, deployment: step.deployment ?? null }, { transaction: tx });
    await models.Job.create({ tenantId: tenant.id, buildId: b.id, startStep: 0, state: "queued", runsOn: jobRunsOn(redeployPlan, 0) }, { transaction: tx });
    const d = await models.Deployment.create(
      {
        tenantId: tenant.id,
        applicationId: app.id,
        environmentId: env.id,
        buildId: b.id,
        stepIndex: 0,
        commit: b.commit,
        refType: b.refType,
        refName: b.refName,
        state: "WAITING",
        reason: "waiting for a runner",
        startedBy: actor.name,
        adminApproved: approved,
      },
      { transaction: tx },
    );
    await queueCommitStatus(models, b, app.repository, forge.buildPageUrl(tenant, app.repository, b), "INPROGRESS", `redeploying #${original.number} to ${env.name}`, tx);
    return { build: b, deployment: d };
  });
  ctx.notify?.jobQueued?.();
  ctx.notify?.statusQueued?.();
  return { outcome: "queued", build, deployment };
}
