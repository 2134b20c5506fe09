import { chown, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { deploymentEnvironmentUuid, stepUuid } from "../oidc/step-identity";
import { changesetMatches, type PipeItem, type StepPlan } from "../pipelines";
import { downloadArtifacts, uploadArtifacts, type ArtifactIo } from "./artifacts";
import { restoreCaches, saveCaches } from "./caches";
import { changedFiles, CheckoutError, createStepClone } from "./checkout";
import { StepRefusedError, type Executor, type JobSandbox, type StepSandbox } from "./executors/executor";
import { checkoutFromMirror } from "./git-mirror";
import { createLogSink, type LogSink } from "./log-sink";
import { createMasker } from "./mask";
import { collectOutputVariables, OUTPUT_VARIABLES_FILE } from "./output-variables";
import { runStep } from "./run-step";
import { LeaseLostError, type JobSpec, type LeaseRef, type RunnerProtocol, type StepStartAnswer } from "./runner-protocol";
import { reportTests } from "./test-reports";

export interface RunJobOptions {
  api: RunnerProtocol;
  spec: JobSpec;
  /** Isolates the job's steps (PIPELINES_EXECUTOR). */
  executor: Executor;
  /** The runner's slot running the job (0-based). */
  slot: number;
  /** Where this runner keeps its git mirrors (its state directory, never visible to a step); see git-mirror.ts. */
  mirrorDir: string;
  /** SIGTERM → SIGKILL grace when a step is stopped. */
  graceMs?: number;
  /** The runner is shutting down: stop the step and abandon the job without reporting (its lease will expire). */
  shutdown?: AbortSignal;
  onError?(error: unknown): void;
}

/**
 * A third of the lease, so two heartbeats may be lost before it expires; at most 2 s, because the answer also says
 * when the build was stopped, and a cancel should take effect within seconds.
 */
export function heartbeatInterval(leaseMs: number): number {
  return Math.max(100, Math.min(2000, Math.floor(leaseMs / 3)));
}

/** One line of the runner's own in a step's log. */
const notice = (text: string) => `[pipelines] ${text}\n`;

/**
 * Runs a claimed job: from its first step to the end of the pipeline, or to the next manual step. Each step gets a
 * fresh work tree of the commit (plus the artifacts of earlier steps), its own log, and `bash -e`; the steps of a
 * `parallel` group run at the same time. A failure ends the job once its group is done (at once with fail-fast,
 * which stops the group's other steps). The lease is renewed in the
 * background; if the build is stopped the running step is stopped, and if the lease is lost the job is abandoned
 * without reporting anything more (another runner owns it now).
 */
export async function runJob(o: RunJobOptions): Promise<void> {
  const { api, spec } = o;
  const lease: LeaseRef = { jobId: spec.jobId, leaseToken: spec.leaseToken };
  const abort = new AbortController();
  let lost = false;
  let shuttingDown = false;
  const onShutdown = () => {
    shuttingDown = true;
    lost = true;
    abort.abort();
  };
  if (o.shutdown?.aborted) onShutdown();
  o.shutdown?.addEventListener("abort", onShutdown, { once: true });
  const beat = setInterval(() => {
    api.heartbeat(lease).then(
      ({ stop }) => {
        if (stop) abort.abort();
      },
      (err: unknown) => {
        if (err instanceof LeaseLostError) {
          lost = true;
          abort.abort();
        } else o.onError?.(err);
      },
    );
  }, heartbeatInterval(spec.leaseMs));

  let job: JobSandbox;
  try {
    job = await o.executor.job(o.slot);
  } catch (err) {
    clearInterval(beat);
    o.shutdown?.removeEventListener("abort", onShutdown);
    throw err;
  }
  const ws = job.dir;
  const home = join(ws, "git-home");
  const repoDir = join(ws, "repo");
  await mkdir(home, { mode: 0o700 });
  // The commit is fetched once per job, by the first step that needs it; work trees are added one at a time.
  let fetching: Promise<void> | null = null;
  let trees: Promise<unknown> = Promise.resolve();
  let pausedAt: number | undefined;
  const dirs = (signal: AbortSignal): JobDirs => ({
    job,
    ws,
    home,
    repoDir,
    signal,
    abandoned: () => lost,
    fetchOnce: (fetch) => (fetching ??= fetch()),
    addTree: (add) => {
      const next = trees.then(add, add);
      trees = next.catch(() => undefined);
      return next;
    },
  });
  // Output variables of the job's steps so far (earlier jobs' come in spec.env).
  const outputs: Record<string, string> = {};
  try {
    const steps = spec.plan.steps;
    for (let i = spec.startStep; i < steps.length; ) {
      if (abort.signal.aborted) break;
      if (i > spec.startStep && steps[i].manual) {
        pausedAt = i;
        break;
      }
      // A parallel group runs at once: its steps side by side, each in its own work tree with its own log.
      const group = [steps[i]];
      while (steps[i].parallelGroup !== undefined && i + group.length < steps.length && steps[i + group.length].parallelGroup === steps[i].parallelGroup) {
        group.push(steps[i + group.length]);
      }
      const groupAbort = new AbortController();
      const onJobAbort = () => groupAbort.abort();
      abort.signal.addEventListener("abort", onJobAbort, { once: true });
      // A group's steps see the output variables of the steps before the group, not of each other.
      const inherited = { ...outputs };
      const states = await Promise.all(
        group.map(async (step) => {
          const answer = await api.stepStarted(lease, step.index, { executor: o.executor.name });
          if (answer.stop) {
            abort.abort();
            return "STOPPED";
          }
          // Not now (the server recorded why): wait for its environment, or refused / failed before it ran.
          if (answer.gate === "wait") return "WAITING";
          if (answer.gate === "refused") return "REFUSED";
          if (answer.gate === "failed") return "FAILED";
          const state = await runOneStep(o, lease, step, step.index === spec.startStep, dirs(groupAbort.signal), { answer, inherited, outputs });
          // fail-fast: a failing step stops the rest of its group (a failure the step ignores does not).
          if ((state === "FAILED" || state === "TIMED_OUT") && step.failFast && !step.ignoreFailure) groupAbort.abort();
          return state;
        }),
      );
      abort.signal.removeEventListener("abort", onJobAbort);
      // A step that waits for its environment ends the job before it; the server starts it again in a new job.
      const waiting = states.indexOf("WAITING");
      if (waiting >= 0 && !states.some((st) => st === "FAILED" || st === "TIMED_OUT" || st === "STOPPED")) {
        pausedAt = group[waiting].index;
        break;
      }
      i += group.length;
      // `on-fail: {strategy: ignore}`: the step is marked failed and the build goes on; a refused step is passed over.
      const ended = states.some((st, k) => st !== "SUCCESSFUL" && st !== "SKIPPED" && st !== "REFUSED" && !((st === "FAILED" || st === "TIMED_OUT") && group[k].ignoreFailure));
      if (ended) break;
    }
    if (!lost) await api.jobFinished(lease, pausedAt === undefined ? {} : { pausedAt });
  } catch (err) {
    if (!(err instanceof LeaseLostError)) throw err;
  } finally {
    // Shutting down: the step was stopped; hand the job back so it starts again at once, elsewhere or after restart.
    if (shuttingDown) await api.release(lease).catch((err: unknown) => o.onError?.(err));
    clearInterval(beat);
    o.shutdown?.removeEventListener("abort", onShutdown);
    await job.release().catch((err: unknown) => o.onError?.(err));
  }
}

/** `clone: lfs` for a step: its own, else the pipeline file's. */
function lfsOf(step: StepPlan, plan: { cloneLfs?: boolean }): boolean {
  return step.cloneLfs ?? plan.cloneLfs ?? false;
}

/** The pipes among a step's script items. */
function pipesOf(step: StepPlan): PipeItem[] {
  return [...step.script, ...step.afterScript].filter((item): item is PipeItem => typeof item !== "string");
}

interface JobDirs {
  job: JobSandbox;
  ws: string;
  home: string;
  repoDir: string;
  signal: AbortSignal;
  /** The lease is lost or the runner is shutting down: report nothing more. */
  abandoned(): boolean;
  /** Runs `fetch` the first time; later callers wait for that same fetch. */
  fetchOnce(fetch: () => Promise<void>): Promise<void>;
  /** Runs `add` after every work tree added before it (git locks the repository while adding one). */
  addTree(add: () => Promise<void>): Promise<unknown>;
}

interface StepInputs {
  /** What the server answered when the step started (its OIDC token, its environment's variables and secrets). */
  answer: StepStartAnswer;
  /** Output variables of earlier steps of this job, for this step's environment. */
  inherited: Record<string, string>;
  /** Where this step's own output variables go, for the steps after it. */
  outputs: Record<string, string>;
}

async function runOneStep(o: RunJobOptions, lease: LeaseRef, step: StepPlan, first: boolean, dirs: JobDirs, inputs: StepInputs): Promise<string> {
  const { api, spec } = o;
  const { answer } = inputs;
  const { oidcToken } = answer;
  let passedOn: Record<string, string> | undefined;
  const sink: LogSink = createLogSink({ capBytes: spec.logCapBytes, onChunk: (offset, data) => api.appendLog(lease, step.index, offset, data) });
  // The step's OIDC token is a credential like a secured variable: masked wherever it shows up; so are the secured
  // variables of its deployment environment.
  const secrets = [...spec.secrets, ...(answer.secrets ?? []), ...(oidcToken ? [oidcToken] : [])];
  const masker = createMasker(secrets);
  const say = async (line: string) => sink.write(masker.push(notice(line)) + masker.flush());
  const finish = async (state: "SUCCESSFUL" | "FAILED" | "STOPPED" | "TIMED_OUT" | "SKIPPED", exitCode: number | null) => {
    await sink.close();
    if (dirs.abandoned()) throw new LeaseLostError("the job was abandoned");
    await api.stepFinished(lease, step.index, { state, exitCode, ...(passedOn ? { outputVariables: passedOn } : {}) });
    return state;
  };
  try {
    // What cannot be honoured is said once, at the top of the step's log — never silently ignored.
    for (const w of step.warnings) await say(`warning: ${w}`);
    if (first && step.index === 0) for (const w of spec.plan.warnings) await say(`warning: ${w}`);

    const { job } = dirs;
    const stepDir = join(dirs.ws, `step-${step.index}`);
    const cloneOn = spec.clone !== null && step.cloneEnabled && spec.plan.cloneEnabled !== false;
    if (cloneOn && spec.clone) {
      const clone = spec.clone;
      // From this runner's mirror of the repository, which fetches only what it lacks (git-mirror.ts).
      const checkoutStarted = Date.now();
      const lfsDir = join(dirs.ws, "lfs");
      const jobNeedsLfs = spec.plan.steps.some((s) => s.index >= spec.startStep && s.cloneEnabled && lfsOf(s, spec.plan));
      await dirs.fetchOnce(async () => {
        await checkoutFromMirror({
          root: o.mirrorDir,
          applicationId: spec.build.applicationId,
          dir: dirs.repoDir,
          url: clone.url,
          extraHeader: clone.extraHeader,
          ssh: clone.ssh ?? null,
          commit: spec.build.commit,
          depth: step.cloneDepth ?? spec.plan.cloneDepth,
          ref: spec.build.refType === "pull-request" ? { type: "branch", name: spec.build.refName } : { type: spec.build.refType, name: spec.build.refName },
          alsoCommit: spec.plan.steps.some((s) => s.condition) ? spec.build.baseCommit : null,
          ...(jobNeedsLfs ? { lfsDir } : {}),
          home: dirs.home,
          signal: dirs.signal,
          say,
        });
      });
      const lfsStorage = lfsOf(step, spec.plan) ? lfsDir : undefined;
      await dirs.addTree(() => createStepClone({ repoDir: dirs.repoDir, dir: stepDir, commit: spec.build.commit, home: dirs.home, url: clone.url, owner: job.owner, lfsStorage }));
      await say(`checked out in ${Date.now() - checkoutStarted} ms`);
    } else {
      await ownedDir(stepDir, job);
      await say("cloning is turned off for this step");
    }
    // Artifacts and caches are on the server: a step gets them whichever runner made them.
    const io: ArtifactIo = { api, lease, job, say };
    await downloadArtifacts(io, step, spec.plan.steps, spec.build.id, stepDir);

    if (step.condition) {
      const changed = cloneOn && spec.clone
        ? await changedFiles({ dir: dirs.repoDir, url: spec.clone.url, extraHeader: spec.clone.extraHeader, ssh: spec.clone.ssh ?? null, home: dirs.home, signal: dirs.signal, base: spec.build.baseCommit, commit: spec.build.commit })
        : null;
      if (!changesetMatches(step.condition, changed)) {
        await say(`step skipped: none of the ${changed?.length ?? 0} files changed since ${spec.build.baseCommit?.slice(0, 12)} matches its condition.changesets`);
        return await finish("SKIPPED", null);
      }
    }

    const home = join(dirs.ws, `home-${step.index}`);
    const tmp = join(dirs.ws, `tmp-${step.index}`);
    await ownedDir(home, job);
    await ownedDir(tmp, job);
    const restoredCaches = await restoreCaches(io, spec.plan.caches ?? {}, step.caches, stepDir, home);

    let sandbox: StepSandbox;
    try {
      sandbox = await job.step({
        jobId: spec.jobId,
        stepIndex: step.index,
        applicationId: spec.build.applicationId,
        env: spec.env,
        dirs: { workTree: stepDir, home, tmp, repoObjects: cloneOn ? join(dirs.repoDir, ".git", "objects") : null },
        size: step.size ?? 1,
        image: step.image,
        services: step.services ?? [],
        pipes: pipesOf(step),
      });
    } catch (err) {
      if (!(err instanceof StepRefusedError)) throw err;
      await say(`this step cannot run here: ${err.message}`);
      return await finish("FAILED", null);
    }
    let result;
    try {
      for (const line of sandbox.header) await say(line);
      const ignored = ignoredByExecutor(o.executor.name, step);
      if (ignored) await say(`warning: ${ignored}`);
      const env: Record<string, string> = {
        ...spec.env,
        ...inputs.inherited,
        // A deployment step's environment variables, over the application's of the same name.
        ...answer.env,
        HOME: sandbox.paths.home,
        BITBUCKET_CLONE_DIR: sandbox.paths.cloneDir,
        BITBUCKET_STEP_UUID: stepUuid(spec.build.id, step.index),
      };
      if (step.deployment) {
        env.BITBUCKET_DEPLOYMENT_ENVIRONMENT = step.deployment;
        env.BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID = deploymentEnvironmentUuid(spec.build.applicationId, step.deployment);
      }
      if (oidcToken) env.BITBUCKET_STEP_OIDC_TOKEN = oidcToken;
      if ((step.outputVariables ?? []).length) env.BITBUCKET_PIPELINES_VARIABLES_PATH = `${sandbox.paths.tmp}/${OUTPUT_VARIABLES_FILE}`;
      result = await runStep({
        script: step.script,
        afterScript: step.afterScript,
        cwd: stepDir,
        env,
        secrets,
        maxTimeMs: step.maxTimeMinutes * 60_000,
        signal: dirs.signal,
        graceMs: o.graceMs,
        output: sink,
        run: (commands, runEnv, output, graceMs) => sandbox.run({ commands, env: runEnv, output, secrets, graceMs }),
        runPipe: sandbox.runPipe ? (pipe, runEnv, output, graceMs) => (sandbox.runPipe as NonNullable<StepSandbox["runPipe"]>)({ pipe, env: runEnv, output, secrets, graceMs }) : undefined,
      });
      const problems = await sandbox.problems();
      for (const line of problems) await say(line);
      if (problems.length && result.state === "SUCCESSFUL") result = { ...result, state: "FAILED" as const };
    } finally {
      await sandbox.teardown();
    }
    await reportTests({ api, lease, job, stepIndex: step.index, stepDir, declared: step.artifacts, say, signal: dirs.signal });
    if (result.state === "FAILED" && (await job.diskFull())) {
      await say("no space left: the job's disk (its checkout, work trees, HOME and /tmp) is full; the runner's operator sets its size with PIPELINES_STEP_DISK");
    }
    if (result.state === "SUCCESSFUL") await saveCaches(io, spec.plan.caches ?? {}, step.caches, restoredCaches, stepDir, home, spec.cacheMaxBytes);
    if (result.state === "SUCCESSFUL" && (step.outputVariables ?? []).length) {
      const collected = await collectOutputVariables(job, tmp, step.outputVariables, secrets);
      if (collected.problem) await say(`warning: ${collected.problem}`);
      for (const name of collected.dropped) await say(`warning: output variable ${name} is not passed on: its value holds a secret`);
      const names = Object.keys(collected.values);
      if (names.length) {
        await say(`output variables for later steps: ${names.join(", ")}`);
        Object.assign(inputs.outputs, collected.values);
        passedOn = collected.values;
      }
    }
    if (result.state === "SUCCESSFUL" || result.state === "FAILED" || result.state === "TIMED_OUT") {
      const overCap = await uploadArtifacts(io, step, stepDir, result.state === "SUCCESSFUL", spec.artifactMaxBytes);
      if (overCap) {
        await say(`the step fails: ${overCap}`);
        result = { ...result, state: "FAILED" as const, exitCode: null };
      }
    }
    return await finish(result.state, result.exitCode);
  } catch (err) {
    if (err instanceof LeaseLostError) throw err;
    const message = err instanceof CheckoutError ? err.message : `the runner failed: ${(err as Error).message}`;
    if (dirs.signal.aborted) {
      await say("stopped");
      return finish("STOPPED", null);
    }
    await say(message).catch(() => undefined);
    return finish("FAILED", null);
  }
}

/** A directory of the job's for a step, owned by the step's user. */
async function ownedDir(dir: string, job: JobSandbox): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (job.owner) await chown(dir, job.owner.uid, job.owner.gid);
}

/** What a step asks for that this executor does not give it, in words; null when nothing. */
export function ignoredByExecutor(executor: Executor["name"], step: StepPlan): string | null {
  if (executor === "container") return null;
  const parts: string[] = [];
  if (step.image) parts.push(`image "${step.image.name}"`);
  const services = (step.services ?? []).map((s) => s.name);
  if (services.length) parts.push(`${services.length === 1 ? "service" : "services"} ${services.map((n) => `"${n}"`).join(", ")}`);
  if (parts.length === 0) return null;
  const verb = parts.length > 1 || services.length > 1 ? "are" : "is";
  return `${parts.join(" and ")} ${verb} ignored: this runner's executor is "${executor}", which runs steps on the runner's own system; a runner with PIPELINES_EXECUTOR=container runs steps in their image`;
}
