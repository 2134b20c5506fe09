import type { EngineContext } from "../builds/engine-context";
import { runManualStep, type RunManualStepResult } from "../builds/resume-build";
import type { Application, Build, Tenant } from "../db/models";
import type { Plan } from "../pipelines";
import { adminRefusal, type Actor } from "./actor";
import { lockApplicationDeployments } from "./application-lock";
import { openDeployment, recordDeployment } from "./deployment-records";
import { findEnvironment } from "./environments";

export type RunStepByHandResult = RunManualStepResult | { outcome: "forbidden"; reason: string };

/**
 * A person runs a waiting step by hand (Run on the build page, Promote on the Deployments page). A step that deploys
 * is recorded with who started it; to an admins-only environment only a person Bitbucket says administers the
 * repository may (asked through that person's credentials, before anything changes). The step then starts like any
 * manual step, and the environment's lock and branches are checked when it starts.
 */
export async function runStepByHand(ctx: EngineContext, tenant: Tenant, app: Application, build: Build, index: number, actor: Actor): Promise<RunStepByHandResult> {
  const { models } = ctx;
  const step = (JSON.parse(build.plan ?? "null") as Plan | null)?.steps[index];
  const env = step?.deployment ? await findEnvironment(models, app.id, step.deployment) : null;
  if (!env) return runManualStep(ctx, tenant, app, build, index);
  let approved = false;
  if (env.adminsOnly) {
    const refusal = await adminRefusal(actor, env.name, app.repository);
    if (refusal) return { outcome: "forbidden", reason: refusal };
    approved = true;
  }
  // Who started it is recorded first, so the step finds it when it starts; undone if the step could not be started.
  const before = await openDeployment(models, build.id, index);
  const previous = before ? { startedBy: before.startedBy, adminApproved: before.adminApproved, reason: before.reason } : null;
  const row = await models.sequelize.transaction(async (tx) => {
    await lockApplicationDeployments(models, app.id, tx);
    return recordDeployment(models, build, env, index, { state: "WAITING", reason: "waiting for a runner", startedBy: actor.name, adminApproved: approved }, tx);
  });
  const result = await runManualStep(ctx, tenant, app, build, index);
  if (result.outcome !== "queued") {
    if (previous) await row.update(previous);
    else await row.destroy();
  }
  return result;
}
