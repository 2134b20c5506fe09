import { Op, QueryTypes } from "sequelize";
import type { EngineContext } from "../builds/engine-context";
import type { GateDecision, PausedStep, StepGate } from "../builds/step-gate";
import { revealSecret } from "../db/encrypted-fields";
import type { Build, Environment } from "../db/models";
import { FINAL_BUILD_STATES } from "../db/models/build";
import type { StepPlan } from "../pipelines";
import { lockApplicationDeployments } from "./application-lock";
import { fillCommitsSincePrevious } from "./commits-since";
import { endOf, openDeployment, recordDeployment, stepIsOver } from "./deployment-records";
import { branchRefusal, findEnvironment, listEnvironments, unknownEnvironmentMessage } from "./environments";
import { resumeStep } from "./resume-step";
import { blockerReason, grantWaiting, lockRequests, releaseStep, type StepRef } from "./step-locks";

/** The variables a deployment step sees over the job's (its environment's), and the secured values among them. */
async function deploymentVariables(ctx: EngineContext, env: Environment): Promise<{ env: Record<string, string>; secrets: string[] }> {
  const vars = await ctx.models.EnvironmentVariable.findAll({ where: { environmentId: env.id, tenantId: env.tenantId } });
  const out: Record<string, string> = {};
  const secrets: string[] = [];
  for (const v of vars) {
    const value = revealSecret(v, "value") ?? "";
    out[v.name] = value;
    if (v.secured && value) secrets.push(value);
  }
  return { env: out, secrets };
}

/**
 * The deployment side of the build engine (see StepGate). Before a step with `deployment:` or `concurrency-group:`
 * starts: its environment must exist (else it fails), its branch must be allowed (else it is refused and the build
 * goes on), an admins-only environment needs an admin to have started it by hand (else it waits for one, like a
 * manual step), and it must hold its environment and group — one step of the application at a time, in order;
 * otherwise its job ends there and it is started again when they free. Every change of the locks happens in a
 * transaction under the application's deployments lock.
 */
export function deploymentGate(ctx: EngineContext): StepGate {
  const { models } = ctx;

  async function resumeAll(refs: StepRef[]): Promise<void> {
    for (const ref of refs) await resumeStep(ctx, ref);
  }

  /** Lets waiting steps of the application through and resumes paused builds whose step holds what it waited for. */
  async function settleApplication(applicationId: number, build?: Build): Promise<void> {
    const resumable = await models.sequelize.transaction(async (tx) => {
      await lockApplicationDeployments(models, applicationId, tx);
      if (build) {
        await build.reload({ transaction: tx });
        const steps = await models.Step.findAll({ where: { buildId: build.id }, attributes: ["index", "state"], transaction: tx });
        const over = FINAL_BUILD_STATES.includes(build.state);
        for (const dep of await models.Deployment.findAll({ where: { buildId: build.id, state: { [Op.in]: ["WAITING", "RUNNING"] } }, transaction: tx })) {
          const step = steps.find((s) => s.index === dep.stepIndex);
          const end = step ? endOf(step.state) : "STOPPED";
          if (end === "SKIPPED") await dep.destroy({ transaction: tx });
          else if (end) await dep.update({ state: end, finishedAt: dep.finishedAt ?? new Date() }, { transaction: tx });
          else if (over) await dep.update({ state: "STOPPED", finishedAt: new Date() }, { transaction: tx });
        }
        for (const step of steps) if (over || stepIsOver(step.state)) await releaseStep(models, { buildId: build.id, stepIndex: step.index }, tx);
      }
      await grantWaiting(models, applicationId, tx);
      // Steps holding their keys in a build paused at them start now (granted just now, or while their job ended).
      const held = await models.StepLock.findAll({ where: { applicationId, state: "held" }, attributes: ["buildId", "stepIndex"], transaction: tx });
      const paused = held.length
        ? await models.Build.findAll({ where: { id: { [Op.in]: [...new Set(held.map((h) => h.buildId))] }, state: "PAUSED" }, attributes: ["id"], transaction: tx })
        : [];
      const ids = new Set(paused.map((b) => b.id));
      const seen = new Set<string>();
      return held.filter((h) => ids.has(h.buildId) && !seen.has(`${h.buildId}:${h.stepIndex}`) && seen.add(`${h.buildId}:${h.stepIndex}`)).map((h) => ({ buildId: h.buildId, stepIndex: h.stepIndex }));
    });
    await resumeAll(resumable);
  }

  return {
    async stepStarting(build: Build, step: StepPlan, parallel: boolean): Promise<GateDecision> {
      if (!step.deployment && !step.concurrencyGroup) return { kind: "run" };
      const ref = { buildId: build.id, stepIndex: step.index, applicationId: build.applicationId };
      let running: Environment | null = null;
      const decision = await models.sequelize.transaction(async (tx): Promise<GateDecision> => {
        await lockApplicationDeployments(models, build.applicationId, tx);
        const env = step.deployment ? await findEnvironment(models, build.applicationId, step.deployment, tx) : null;
        if (step.deployment && !env) {
          const app = await models.Application.findByPk(build.applicationId, { attributes: ["repository"], transaction: tx });
          return { kind: "failed", reason: unknownEnvironmentMessage(step.deployment, app?.repository ?? "this repository", await listEnvironments(models, build.applicationId, tx)) };
        }
        if (env) {
          const refusal = branchRefusal(env, build);
          if (refusal) {
            await releaseStep(models, ref, tx);
            await recordDeployment(models, build, env, step.index, { state: "REFUSED", reason: refusal, finishedAt: new Date() }, tx);
            return { kind: "refused", reason: refusal };
          }
          const open = await openDeployment(models, build.id, step.index, tx);
          if (env.adminsOnly && !open?.adminApproved) {
            const reason = `${env.name} takes deployments from repository admins only: waiting for an admin to run the step "${step.name}"`;
            await recordDeployment(models, build, env, step.index, { state: "WAITING", reason }, tx);
            return { kind: "pause", reason };
          }
        }
        const requests = lockRequests(env, step);
        const mine = await models.StepLock.findAll({ where: { buildId: build.id, stepIndex: step.index }, transaction: tx });
        for (const r of requests) {
          if (!mine.some((m) => m.lockKey === r.key)) {
            await models.StepLock.create({ tenantId: build.tenantId, applicationId: build.applicationId, buildId: build.id, stepIndex: step.index, lockKey: r.key, label: r.label, state: "waiting" }, { transaction: tx });
          }
        }
        await grantWaiting(models, build.applicationId, tx);
        const rows = await models.StepLock.findAll({ where: { buildId: build.id, stepIndex: step.index }, transaction: tx });
        if (rows.every((r) => r.state === "held")) {
          if (env) {
            await recordDeployment(models, build, env, step.index, { state: "RUNNING", reason: null, startedAt: new Date() }, tx);
            running = env;
          }
          return { kind: "run" };
        }
        const reason = await blockerReason(models, ref, tx);
        if (parallel) {
          // A step of a parallel group cannot end its job and wait (its group runs on): it is refused instead.
          const refused = `${reason.replace(/^waiting: /, "")}; a step of a parallel group cannot wait for it (move it out of the parallel group)`;
          await releaseStep(models, ref, tx);
          if (env) await recordDeployment(models, build, env, step.index, { state: "REFUSED", reason: refused, finishedAt: new Date() }, tx);
          return { kind: "refused", reason: refused };
        }
        if (env) await recordDeployment(models, build, env, step.index, { state: "WAITING", reason }, tx);
        return { kind: "wait", reason };
      });
      if (decision.kind !== "run" || !running) return decision;
      const env: Environment = running;
      fillCommitsSincePrevious(ctx, build, env, step.index).catch((err: unknown) => ctx.log.warn("could not count the commits of a deployment", { build: build.id, error: (err as Error).message }));
      return { kind: "run", ...(await deploymentVariables(ctx, env)) };
    },

    async pausedStep(build: Build, pausedAt: number, tx): Promise<PausedStep> {
      const rows = await models.StepLock.findAll({ where: { buildId: build.id, stepIndex: pausedAt }, transaction: tx });
      if (rows.length > 0) {
        if (rows.every((r) => r.state === "held")) return { kind: "granted" };
        return { kind: "waiting", reason: await blockerReason(models, { buildId: build.id, stepIndex: pausedAt, applicationId: build.applicationId }, tx) };
      }
      const open = await openDeployment(models, build.id, pausedAt, tx);
      if (open && open.state === "WAITING" && !open.adminApproved && open.reason) return { kind: "admin", reason: open.reason };
      return null;
    },

    settle: (build: Build) => settleApplication(build.applicationId, build),
    sweep: async () => {
      const apps = await models.sequelize.query<{ application_id: number }>("SELECT DISTINCT application_id FROM step_locks", { type: QueryTypes.SELECT });
      for (const a of apps) await settleApplication(a.application_id);
    },
  };
}
