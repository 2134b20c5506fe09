import type { Readable } from "node:stream";
import { Op } from "sequelize";
import type { Application, Build, Job, Tenant } from "../db/models";
import { ForgeUnavailableError } from "../forges/forge";
import type { Plan } from "../pipelines";
import { claimJob, extendLease } from "../queue/lease-queue";
import { LeaseLostError, type ArtifactRef, type JobSpec, type LeaseRef, type RunnerProtocol, type StepResultReport, type StepStartAnswer, type StepStartInfo, type TestReportSummary } from "../runner/runner-protocol";
import { queueCommitStatus } from "./commit-status";
import type { EngineContext } from "./engine-context";
import { stepEnvironment } from "./step-environment";
import { jobRunsOnOf, needsAnotherRunner, parseRunsOn, SELF_HOSTED } from "../queue/job-labels";

export const DEFAULT_LEASE_MS = 30_000;
const FINAL = ["SUCCESSFUL", "FAILED", "STOPPED", "SKIPPED"];

interface Held {
  job: Job;
  build: Build;
}

/** Why a build failed, naming the step, for the build's page and the commit status. */
function failureReason(name: string, state: string, exitCode: number | null, plan: Plan | null, index: number): string {
  if (state === "TIMED_OUT") {
    const minutes = plan?.steps[index]?.maxTimeMinutes;
    return `step "${name}" exceeded its max-time${minutes ? ` of ${minutes} minutes` : ""}`;
  }
  if (state === "STOPPED") return `step "${name}" was stopped`;
  return exitCode === null ? `step "${name}" failed` : `step "${name}" failed with exit code ${exitCode}`;
}

/** The builds whose artifacts a build's steps get: its own, and for a redeploy its original's. */
export function artifactBuilds(build: Build): number[] {
  return build.trigger === "redeploy" && build.rerunOf !== null ? [build.id, build.rerunOf] : [build.id];
}

/**
 * The server side of the runner protocol, over the database. The in-process runner calls it directly; the runner
 * API (HTTP) exposes the same methods to remote runners. A runner never sees database credentials.
 */
export class JobService implements RunnerProtocol {
  constructor(
    private readonly ctx: EngineContext,
    private readonly leaseMs: number = DEFAULT_LEASE_MS,
  ) {}

  private async held(lease: LeaseRef): Promise<Held> {
    const job = await this.ctx.models.Job.findOne({ where: { id: lease.jobId, leaseToken: lease.leaseToken, state: "leased" } });
    if (!job) throw new LeaseLostError();
    const build = await this.ctx.models.Build.findByPk(job.buildId);
    if (!build) throw new LeaseLostError("the build was deleted");
    return { job, build };
  }

  private async owners(build: Build): Promise<{ tenant: Tenant; app: Application }> {
    const [tenant, app] = await Promise.all([this.ctx.models.Tenant.findByPk(build.tenantId), this.ctx.models.Application.findByPk(build.applicationId)]);
    if (!tenant || !app) throw new LeaseLostError("the application was deleted");
    return { tenant, app };
  }

  /** `labels` absent (a runner that does not say): `self.hosted` only, so it takes no job asking for more. */
  async claim(runnerName: string, labels: string[] = [SELF_HOSTED]): Promise<JobSpec | null> {
    const { models } = this.ctx;
    for (;;) {
      const job = await claimJob(models, runnerName, this.leaseMs, this.ctx.concurrencyPerTenant, labels);
      if (!job) return null;
      const lease = { jobId: job.id, leaseToken: job.leaseToken ?? "" };
      const build = await models.Build.findByPk(job.buildId);
      const owners = build && (await this.owners(build).catch(() => null));
      if (!build || !owners || FINAL.includes(build.state) || owners.tenant.status !== "active") {
        await job.update({ state: "done", leaseToken: null });
        continue;
      }
      const { tenant, app } = owners;
      let clone: JobSpec["clone"] = null;
      const plan = JSON.parse(build.plan ?? "null") as Plan;
      if (plan.cloneEnabled || plan.steps.some((s) => s.cloneEnabled)) {
        try {
          clone = await this.ctx.forgeFor(tenant).cloneAccess(tenant, app.repository);
        } catch (err) {
          // Bitbucket cannot give credentials now: put the job back for a later claim.
          if (err instanceof ForgeUnavailableError) {
            await job.update({ state: "queued", leaseToken: null, leaseOwner: null, leaseExpiresAt: null });
            this.ctx.log.warn("cannot get clone credentials; the job waits", { build: build.id, error: err.message });
            return null;
          }
          await this.endBuild(build, tenant, app, "FAILED", `Pipelines could not get credentials to clone ${app.repository}: ${(err as Error).message}`);
          continue;
        }
      }
      const vars = await models.ApplicationVariable.findAll({ where: { applicationId: app.id, tenantId: tenant.id } });
      const { env, secrets } = stepEnvironment(app, build, vars);
      // A build resumed after a manual step: its earlier steps' output variables reach the steps still to run.
      const earlierSteps = job.startStep > 0 ? await models.Step.findAll({ where: { buildId: build.id, index: { [Op.lt]: job.startStep } }, order: [["index", "ASC"]] }) : [];
      for (const earlier of earlierSteps) {
        if (earlier.outputVariables) Object.assign(env, JSON.parse(earlier.outputVariables) as Record<string, string>);
      }
      if (clone?.extraHeader) secrets.push(clone.extraHeader.replace(/^Authorization:\s*\S+\s+/i, ""));
      // An SSH private key only ever reaches a 0600 file, but should a step print it, every line of it is masked.
      if (clone?.ssh) secrets.push(...clone.ssh.privateKey.split("\n").map((l) => l.trim()).filter((l) => l.length >= 16 && !l.startsWith("-----")));
      // Only a build still queued starts: a cancel that landed while Bitbucket was asked for credentials wins.
      const [started] = await models.Build.update({ state: "RUNNING", startedAt: build.startedAt ?? new Date(), stateReason: null }, { where: { id: build.id, state: "QUEUED" } });
      if (started !== 1) {
        await job.update({ state: "done", leaseToken: null });
        continue;
      }
      this.ctx.notify?.jobClaimed?.(parseRunsOn(job.runsOn), job.createdAt);
      return {
        ...lease,
        leaseMs: this.leaseMs,
        build: {
          id: build.id,
          number: build.number,
          applicationId: app.id,
          repository: app.repository,
          commit: build.commit,
          refType: build.refType,
          refName: build.refName,
          pipelineName: build.pipelineName,
          baseCommit: build.baseCommit,
          ...(build.trigger === "redeploy" && build.rerunOf !== null ? { artifactsOf: build.rerunOf } : {}),
        },
        plan,
        startStep: job.startStep,
        clone,
        env,
        secrets,
        logCapBytes: this.ctx.logCapBytes,
        artifactMaxBytes: this.ctx.artifacts.settings.artifactMaxBytes,
        cacheMaxBytes: this.ctx.artifacts.settings.cacheMaxBytes,
      };
    }
  }

  async heartbeat(lease: LeaseRef): Promise<{ stop: boolean }> {
    if (!(await extendLease(this.ctx.models, lease, this.leaseMs))) throw new LeaseLostError();
    const job = await this.ctx.models.Job.findByPk(lease.jobId, { attributes: ["buildId"] });
    const build = job && (await this.ctx.models.Build.findByPk(job.buildId, { attributes: ["state"] }));
    return { stop: !build || FINAL.includes(build.state) };
  }

  /**
   * A step starts. First the gate (deployment environments, concurrency groups) decides whether it runs now: a step
   * that must wait is not marked running (the runner ends the job before it); one that is refused or cannot run is
   * recorded so, with the reason as its log. A step whose plan asks for OIDC (`oidc: true`) gets a freshly signed
   * token from its workspace's issuer (`oidcToken`, for BITBUCKET_STEP_OIDC_TOKEN); it is signed before the step is
   * marked running, so a failure to sign leaves the step as it was. A deployment step gets its environment's
   * variables (`env`, `secrets`).
   */
  async stepStarted(lease: LeaseRef, stepIndex: number, info?: StepStartInfo): Promise<StepStartAnswer> {
    const { build, job } = await this.held(lease);
    if (FINAL.includes(build.state)) return { stop: true };
    const plan = JSON.parse(build.plan ?? "null") as Plan | null;
    const step = plan?.steps[stepIndex];
    // A later step that needs a label this job's runner may lack (runs-on): the job ends before it (see jobFinished).
    if (step && stepIndex > job.startStep && needsAnotherRunner(job.runsOn, plan, stepIndex)) return { stop: false, gate: "wait" };
    const decision = step && this.ctx.gate ? await this.ctx.gate.stepStarting(build, step, step.parallelGroup !== undefined) : { kind: "run" as const };
    if (decision.kind === "wait" || decision.kind === "pause") return { stop: false, gate: "wait" };
    if (decision.kind === "refused" || decision.kind === "failed") {
      await this.recordUnrun(build, stepIndex, decision.kind === "refused" ? "REFUSED" : "FAILED", decision.reason);
      return { stop: false, gate: decision.kind };
    }
    let oidcToken: string | undefined;
    if (step?.oidc) {
      const { tenant, app } = await this.owners(build);
      oidcToken = await this.ctx.oidc.mintStepToken({
        tenant,
        app,
        build,
        step: { index: stepIndex, deployment: step.deployment, maxTimeMinutes: step.maxTimeMinutes, audiences: step.oidc.audiences },
      });
    }
    const [n] = await this.ctx.models.Step.update(
      { state: "RUNNING", startedAt: new Date(), exitCode: null, executor: info?.executor ?? null, runnerName: job.leaseOwner },
      { where: { buildId: build.id, index: stepIndex } },
    );
    if (n !== 1) throw new RangeError(`build ${build.id} has no step ${stepIndex}`);
    // Run again (its runner was lost or shut down): what it uploaded the first time is not its result any more.
    await this.ctx.artifacts.forgetStep(build, stepIndex);
    const answer: StepStartAnswer = { stop: false };
    if (oidcToken !== undefined) answer.oidcToken = oidcToken;
    if (decision.env && Object.keys(decision.env).length > 0) answer.env = decision.env;
    if (decision.secrets && decision.secrets.length > 0) answer.secrets = decision.secrets;
    return answer;
  }

  /** A step that did not run (refused, or unable to): its state, and why as its whole log. */
  private async recordUnrun(build: Build, stepIndex: number, state: "REFUSED" | "FAILED", reason: string): Promise<void> {
    const { models } = this.ctx;
    const step = await models.Step.findOne({ where: { buildId: build.id, index: stepIndex } });
    if (!step) throw new RangeError(`build ${build.id} has no step ${stepIndex}`);
    const data = Buffer.from(`[pipelines] ${state === "REFUSED" ? "this deployment was refused" : "this step cannot run"}: ${reason}\n`);
    const now = new Date();
    await models.sequelize.transaction(async (tx) => {
      await models.LogChunk.destroy({ where: { stepId: step.id }, transaction: tx });
      await models.LogChunk.create({ stepId: step.id, offset: 0, data }, { transaction: tx });
      await step.update({ state, exitCode: null, logBytes: data.length, startedAt: now, finishedAt: now }, { transaction: tx });
    });
    this.ctx.notify?.stepChanged?.(build.id, stepIndex);
  }

  async appendLog(lease: LeaseRef, stepIndex: number, offset: number, data: Buffer): Promise<void> {
    const { models } = this.ctx;
    const { build } = await this.held(lease);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > this.ctx.logCapBytes + 64 * 1024) throw new RangeError("log chunk beyond the log cap");
    const step = await models.Step.findOne({ where: { buildId: build.id, index: stepIndex }, attributes: ["id"] });
    if (!step) throw new RangeError(`build ${build.id} has no step ${stepIndex}`);
    const end = offset + data.length;
    // A chunk sent twice (a retry that raced its first attempt) is stored once; the byte count only grows.
    await models.sequelize.transaction(async (tx) => {
      // Bound parameters: the chunk goes to the database as bytes, not as an escaped literal.
      // The time it arrived: a chunk holds what the step printed within about a quarter of a second (the page's
      // timestamps per line).
      await models.sequelize.query('INSERT INTO log_chunks (step_id, "offset", data, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (step_id, "offset") DO NOTHING', {
        bind: [step.id, offset, data, new Date()],
        transaction: tx,
      });
      await models.sequelize.query("UPDATE steps SET log_bytes = CASE WHEN log_bytes < $1 THEN $1 ELSE log_bytes END WHERE id = $2", {
        bind: [end, step.id],
        transaction: tx,
      });
    });
    this.ctx.notify?.stepChanged?.(build.id, stepIndex);
  }

  async stepFinished(lease: LeaseRef, stepIndex: number, result: StepResultReport): Promise<void> {
    const { build } = await this.held(lease);
    const declared = (JSON.parse(build.plan ?? "null") as Plan | null)?.steps[stepIndex]?.outputVariables ?? [];
    // Only what the step declares is passed on (the runner already dropped values holding a secret).
    const outputs = Object.fromEntries(Object.entries(result.outputVariables ?? {}).filter(([name]) => declared.includes(name)));
    await this.ctx.models.Step.update(
      { state: result.state, exitCode: result.exitCode, finishedAt: new Date(), outputVariables: Object.keys(outputs).length ? JSON.stringify(outputs) : null },
      { where: { buildId: build.id, index: stepIndex } },
    );
    this.ctx.notify?.stepChanged?.(build.id, stepIndex);
    this.ctx.notify?.stepFinished?.(build.id, stepIndex, result.state);
    // Its deployment is recorded and what it held (an environment, a concurrency group) goes to the next in line.
    await this.ctx.gate?.settle(build);
  }

  /** Stores (or replaces) what the step's test reports say. */
  async testReport(lease: LeaseRef, stepIndex: number, report: TestReportSummary): Promise<void> {
    const { models } = this.ctx;
    const { build } = await this.held(lease);
    const step = await models.Step.findOne({ where: { buildId: build.id, index: stepIndex }, attributes: ["id"] });
    if (!step) throw new RangeError(`build ${build.id} has no step ${stepIndex}`);
    const row = {
      tenantId: build.tenantId,
      stepId: step.id,
      files: report.files,
      passed: report.passed,
      failed: report.failed,
      skipped: report.skipped,
      failures: JSON.stringify(report.failures),
      unreadable: report.unreadable,
    };
    await models.sequelize.transaction(async (tx) => {
      await models.StepTestReport.destroy({ where: { stepId: step.id }, transaction: tx });
      await models.StepTestReport.create(row, { transaction: tx });
    });
    this.ctx.notify?.stepChanged?.(build.id, stepIndex);
  }

  /** ` · 3 tests failed` when the build's test reports counted failures, for the commit status. */
  private async testsFailed(buildId: number): Promise<string> {
    const { models } = this.ctx;
    const steps = await models.Step.findAll({ where: { buildId }, attributes: ["id"] });
    const failed = (await models.StepTestReport.sum("failed", { where: { stepId: { [Op.in]: steps.map((st) => st.id) } } })) || 0;
    return failed > 0 ? `; ${failed} test${failed === 1 ? "" : "s"} failed` : "";
  }

  async jobFinished(lease: LeaseRef, result: { pausedAt?: number }): Promise<void> {
    const { models } = this.ctx;
    const { job, build } = await this.held(lease);
    const { tenant, app } = await this.owners(build);
    const steps = await models.Step.findAll({ where: { buildId: build.id }, order: [["index", "ASC"]] });
    const plan = JSON.parse(build.plan ?? "null") as Plan | null;
    // A failure of a step with `on-fail: {strategy: ignore}` is shown on the step but does not fail the build.
    const ignored = (s: { index: number; state: string }) => (s.state === "FAILED" || s.state === "TIMED_OUT") && plan?.steps[s.index]?.ignoreFailure === true;
    const failed = steps.find((s) => (s.state === "FAILED" || s.state === "TIMED_OUT") && !ignored(s));
    const testsFailed = await this.testsFailed(build.id);
    const pausedAt = result.pausedAt;
    await models.sequelize.transaction(async (tx) => {
      await job.update({ state: "done", leaseToken: null }, { transaction: tx });
      await build.reload({ transaction: tx });
      if (build.state === "STOPPED") {
        await models.Step.update({ state: "STOPPED", finishedAt: new Date() }, { where: { buildId: build.id, state: "RUNNING" }, transaction: tx });
        return;
      }
      const url = this.ctx.forgeFor(tenant).buildPageUrl(tenant, app.repository, build);
      // The job stopped before a step the gate holds back (its environment is busy, or it needs an admin).
      // The job stopped before a step that needs other runner labels: that step starts a new job, for such a runner.
      const relabelled = !failed && pausedAt !== undefined && pausedAt > job.startStep && steps[pausedAt]?.state === "PENDING" && !steps[pausedAt].manual && needsAnotherRunner(job.runsOn, plan, pausedAt);
      const gated = !failed && !relabelled && pausedAt !== undefined && steps[pausedAt]?.state === "PENDING" && this.ctx.gate ? await this.ctx.gate.pausedStep(build, pausedAt, tx) : null;
      if (failed) {
        const reason = failureReason(failed.name, failed.state, failed.exitCode, plan, failed.index);
        await models.Step.update({ state: "NOT_RUN" }, { where: { buildId: build.id, state: { [Op.in]: ["PENDING", "WAITING", "RUNNING"] } }, transaction: tx });
        await build.update({ state: "FAILED", stateReason: reason, finishedAt: new Date() }, { transaction: tx });
        await queueCommitStatus(models, build, app.repository, url, "FAILED", reason + testsFailed, tx);
      } else if (relabelled && pausedAt !== undefined) {
        const runsOn = jobRunsOnOf(build.plan, pausedAt);
        await models.Job.create({ tenantId: build.tenantId, buildId: build.id, startStep: pausedAt, state: "queued", runsOn }, { transaction: tx });
        await build.update({ state: "QUEUED", stateReason: null }, { transaction: tx });
        await queueCommitStatus(models, build, app.repository, url, "INPROGRESS", `step "${steps[pausedAt].name}" waits for a runner with labels ${parseRunsOn(runsOn).join(", ")}`, tx);
      } else if (gated && pausedAt !== undefined) {
        const waiting = steps[pausedAt];
        if (gated.kind === "granted") {
          // What it waited for freed while its job was ending: it starts at once, in a new job.
          await models.Job.create({ tenantId: build.tenantId, buildId: build.id, startStep: pausedAt, state: "queued", runsOn: jobRunsOnOf(build.plan, pausedAt) }, { transaction: tx });
          await build.update({ state: "QUEUED", stateReason: null }, { transaction: tx });
          await queueCommitStatus(models, build, app.repository, url, "INPROGRESS", `starting the step "${waiting.name}"`, tx);
        } else if (gated.kind === "waiting") {
          await build.update({ state: "PAUSED", stateReason: gated.reason }, { transaction: tx });
          await queueCommitStatus(models, build, app.repository, url, "INPROGRESS", gated.reason, tx);
        } else {
          // An admins-only environment: the step now waits for a person, like a manual step.
          await waiting.update({ state: "WAITING", manual: true }, { transaction: tx });
          await build.update({ state: "PAUSED", stateReason: gated.reason }, { transaction: tx });
          await queueCommitStatus(models, build, app.repository, url, "SUCCESSFUL", `steps passed; ${gated.reason}`, tx);
        }
      } else if (pausedAt !== undefined && steps[pausedAt]?.manual && steps[pausedAt].state === "PENDING") {
        const waiting = steps[pausedAt];
        await waiting.update({ state: "WAITING" }, { transaction: tx });
        const reason = `waiting for someone to run the manual step "${waiting.name}"`;
        await build.update({ state: "PAUSED", stateReason: reason }, { transaction: tx });
        await queueCommitStatus(models, build, app.repository, url, "SUCCESSFUL", `steps passed${testsFailed}; ${reason}`, tx);
      } else {
        const unfinished = steps.filter((s) => !["SUCCESSFUL", "SKIPPED", "REFUSED"].includes(s.state) && !ignored(s));
        if (unfinished.length > 0) {
          const reason = `the runner ended the build before step "${unfinished[0].name}" finished`;
          await models.Step.update({ state: "NOT_RUN" }, { where: { buildId: build.id, state: { [Op.in]: ["PENDING", "WAITING"] } }, transaction: tx });
          await models.Step.update({ state: "FAILED", finishedAt: new Date() }, { where: { buildId: build.id, state: "RUNNING" }, transaction: tx });
          await build.update({ state: "FAILED", stateReason: reason, finishedAt: new Date() }, { transaction: tx });
          await queueCommitStatus(models, build, app.repository, url, "FAILED", reason + testsFailed, tx);
        } else {
          const refused = steps.filter((s) => s.state === "REFUSED");
          const reason = refused.length ? `${refused.map((s) => `"${s.name}"`).join(", ")} ${refused.length === 1 ? "was" : "were"} refused by ${refused.length === 1 ? "its environment" : "their environments"} (see ${refused.length === 1 ? "its log" : "their logs"})` : null;
          const failedIgnored = steps.filter(ignored).length;
          const passed = steps.length - refused.length - failedIgnored;
          await build.update({ state: "SUCCESSFUL", stateReason: reason, finishedAt: new Date() }, { transaction: tx });
          const summary = `${passed} step${passed === 1 ? "" : "s"} passed${failedIgnored ? `, ${failedIgnored} failed (on-fail: ignore)` : ""}${reason ? `; ${reason}` : ""}${testsFailed}`;
          await queueCommitStatus(models, build, app.repository, url, "SUCCESSFUL", summary, tx);
        }
      }
    });
    await this.ctx.gate?.settle(build);
    this.ctx.notify?.statusQueued?.();
    this.ctx.notify?.jobQueued?.();
  }

  async release(lease: LeaseRef): Promise<void> {
    const { models } = this.ctx;
    const { job, build } = await this.held(lease);
    await models.sequelize.transaction(async (tx) => {
      const steps = await models.Step.findAll({ where: { buildId: build.id, index: { [Op.gte]: job.startStep } }, attributes: ["id"], transaction: tx });
      const ids = steps.map((st) => st.id);
      await models.LogChunk.destroy({ where: { stepId: { [Op.in]: ids } }, transaction: tx });
      await models.StepTestReport.destroy({ where: { stepId: { [Op.in]: ids } }, transaction: tx });
      await models.Step.update({ state: "PENDING", exitCode: null, logBytes: 0, startedAt: null, finishedAt: null }, { where: { id: { [Op.in]: ids } }, transaction: tx });
      await job.update({ state: "queued", leaseToken: null, leaseOwner: null, leaseExpiresAt: null }, { transaction: tx });
      await models.Build.update({ state: "QUEUED", stateReason: "its runner shut down; waiting for another" }, { where: { id: build.id, state: "RUNNING" }, transaction: tx });
    });
    await this.ctx.gate?.settle(build);
    this.ctx.notify?.jobQueued?.();
  }

  async listArtifacts(lease: LeaseRef): Promise<ArtifactRef[]> {
    const { build } = await this.held(lease);
    const rows = await this.ctx.artifacts.list(build.tenantId, artifactBuilds(build));
    return rows.filter((a) => a.type === "shared").map((a) => ({ id: a.id, buildId: a.buildId, stepIndex: a.stepIndex, name: a.name, type: a.type, size: a.size }));
  }

  async downloadArtifact(lease: LeaseRef, artifactId: number): Promise<Readable> {
    const { build } = await this.held(lease);
    const artifact = await this.ctx.artifacts.find(build.tenantId, artifactBuilds(build), artifactId);
    const body = artifact && (await this.ctx.artifacts.open(artifact));
    if (!body) throw new RangeError(`this job has no artifact ${artifactId}`);
    return body;
  }

  async uploadArtifact(lease: LeaseRef, stepIndex: number, artifact: { name: string; type: "shared" | "scoped" }, body: Readable): Promise<{ size: number }> {
    const { build } = await this.held(lease).catch((err: unknown) => {
      body.destroy();
      throw err;
    });
    const plan = JSON.parse(build.plan ?? "null") as Plan | null;
    if (!plan?.steps[stepIndex] || artifact.name.length === 0 || artifact.name.length > 200 || (artifact.type !== "shared" && artifact.type !== "scoped")) {
      body.destroy();
      throw new RangeError(`build ${build.id} has no step ${stepIndex}, or the artifact's name or type is not one`);
    }
    return this.ctx.artifacts.saveArtifact(build, stepIndex, artifact.name, artifact.type, body);
  }

  async downloadCache(lease: LeaseRef, name: string): Promise<Readable | null> {
    const { build } = await this.held(lease);
    return this.ctx.artifacts.openCache(build, name);
  }

  async uploadCache(lease: LeaseRef, name: string, body: Readable): Promise<{ saved: boolean }> {
    const { build } = await this.held(lease).catch((err: unknown) => {
      body.destroy();
      throw err;
    });
    if (name.length === 0 || name.length > 200) {
      body.destroy();
      throw new RangeError("a cache's name is 1 to 200 characters");
    }
    return this.ctx.artifacts.saveCache(build, name, body);
  }

  /** Ends a build that cannot run (no credentials to clone): FAILED with the reason, the status queued. */
  private async endBuild(build: Build, tenant: Tenant, app: Application, state: "FAILED", reason: string): Promise<void> {
    const { models } = this.ctx;
    await models.sequelize.transaction(async (tx) => {
      await models.Job.update({ state: "done", leaseToken: null }, { where: { buildId: build.id }, transaction: tx });
      await models.Step.update({ state: "NOT_RUN" }, { where: { buildId: build.id, state: { [Op.in]: ["PENDING", "WAITING", "RUNNING"] } }, transaction: tx });
      await build.update({ state, stateReason: reason, finishedAt: new Date() }, { transaction: tx });
      await queueCommitStatus(models, build, app.repository, this.ctx.forgeFor(tenant).buildPageUrl(tenant, app.repository, build), state, reason, tx);
    });
    await this.ctx.gate?.settle(build);
    this.ctx.notify?.statusQueued?.();
  }
}
