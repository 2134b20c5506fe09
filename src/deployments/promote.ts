import type { EngineContext } from "../builds/engine-context";
import type { Application, Build, Environment, Tenant } from "../db/models";
import type { Plan } from "../pipelines";
import type { Actor } from "./actor";
import { environmentKey } from "./environments";
import { runStepByHand, type RunStepByHandResult } from "./run-deployment-step";

/**
 * Promote: runs `build`'s next deployment step — the manual step it waits at — when it deploys to `env` (e.g. the
 * build now on Staging goes on to Production). Anything else is a conflict saying what the build waits for.
 */
export async function promote(ctx: EngineContext, tenant: Tenant, app: Application, env: Environment, build: Build, actor: Actor): Promise<RunStepByHandResult> {
  const plan = JSON.parse(build.plan ?? "null") as Plan | null;
  const waiting = await ctx.models.Step.findOne({ where: { buildId: build.id, state: "WAITING" }, order: [["index", "ASC"]] });
  const step = waiting ? plan?.steps[waiting.index] : undefined;
  if (build.state !== "PAUSED" || !waiting || !step) {
    return { outcome: "conflict", reason: `build #${build.number} is ${build.state.toLowerCase()}, not waiting at a step: there is nothing to promote to ${env.name}` };
  }
  if (!step.deployment || environmentKey(step.deployment) !== env.nameKey) {
    const where = step.deployment ? `deploys to ${step.deployment}` : "deploys nowhere";
    return { outcome: "conflict", reason: `the step build #${build.number} waits at ("${waiting.name}") ${where}, not to ${env.name}` };
  }
  return runStepByHand(ctx, tenant, app, build, waiting.index, actor);
}
