import type { Readable } from "node:stream";
import type { CloneAccess } from "../forges/forge";
import type { Plan } from "../pipelines";

/** A claimed job, as the runner API hands it to a runner: everything needed to run it, nothing of the database. */
export interface JobSpec {
  jobId: number;
  leaseToken: string;
  /** Renew the lease well within this (the runner heartbeats every third of it). */
  leaseMs: number;
  build: {
    id: number;
    number: number;
    applicationId: number;
    repository: string;
    commit: string;
    refType: "branch" | "tag" | "pull-request";
    refName: string;
    pipelineName: string;
    /** The commit of the last successful build of the same ref, for `condition.changesets`; null when unknown. */
    baseCommit: string | null;
    /** The build whose artifacts the steps get instead of this build's own (a redeploy gets its original's). */
    artifactsOf?: number;
  };
  plan: Plan;
  /** The first step to run; steps before it already ran in an earlier job of the same build. */
  startStep: number;
  /** Null when the pipeline turns cloning off. */
  clone: CloneAccess | null;
  /** The environment of every step: BITBUCKET_* variables and the application's variables. */
  env: Record<string, string>;
  /** Values masked in the log (secured variables, the clone credentials). */
  secrets: string[];
  logCapBytes: number;
  /** Bytes of artifacts (tar.gz) a step may upload, all together; absent from an older server: no cap said. */
  artifactMaxBytes?: number;
  /** Bytes of one cache (tar.gz). */
  cacheMaxBytes?: number;
}

/** How a step ended, as the runner reports it. */
export interface StepResultReport {
  state: ReportedStepState;
  exitCode: number | null;
  outputVariables?: Record<string, string>;
}

/**
 * The server's answer when a step starts. `stop`: do not run it (the build ended). `oidcToken`: the step asked for
 * OIDC (`oidc: true`); give it to the step as BITBUCKET_STEP_OIDC_TOKEN and mask it — it is a credential. `env`:
 * variables of this step only (its deployment environment's), over the job's `env`; `secrets`: more values to mask
 * in this step's log. `gate` — the step does not run now: `wait`: end the job before it (jobFinished with `pausedAt`
 * = this step), the server starts it again later; `refused`: its environment does not allow it, the server recorded
 * it (state REFUSED, the reason in its log): go on with the next steps as after a skipped step; `failed`: it cannot
 * run (the server recorded it FAILED with the reason in its log): end the job as after a failed step.
 */
export interface StepStartAnswer {
  stop: boolean;
  oidcToken?: string;
  env?: Record<string, string>;
  secrets?: string[];
  gate?: "wait" | "refused" | "failed";
}

/** What the runner says of a step it starts: how it isolates it (shown on the step's page). */
export interface StepStartInfo {
  executor: "sandbox" | "container" | "host";
}

/** One failed test of a step's reports (each text already cut to what the server keeps). */
export interface TestFailure {
  /** The suite (or class) it belongs to. */
  suite: string;
  name: string;
  /** The failure's message (`message` attribute), or its kind when it has none. */
  message: string;
  /** The first 2,000 characters of what it printed: the failure's text (stack trace), then its system-out and system-err. */
  output: string;
}

/** What the JUnit/xUnit reports found after a step say, summed over its report files. */
export interface TestReportSummary {
  /** Report files read. */
  files: number;
  passed: number;
  failed: number;
  skipped: number;
  /** The first failures (at most 100), in the order of the files. */
  failures: TestFailure[];
  /** Report files that could not be read (the step's log says which and why). */
  unreadable: number;
}

/** At most this many failures are kept per step (Bitbucket shows the first 100 too). */
export const MAX_TEST_FAILURES = 100;
/** A failure's output is kept up to this many characters. */
export const MAX_FAILURE_OUTPUT = 2000;

export type ReportedStepState = "SUCCESSFUL" | "FAILED" | "STOPPED" | "TIMED_OUT" | "SKIPPED";

/** What a runner says of itself when it starts: shown in the runners' listing, and its labels decide what it may claim. */
export interface RunnerInfo {
  /** All its labels: those it was given plus `self.hosted` and its OS (`runnerLabels`). */
  labels: string[];
  version: string;
  slots: number;
}

export interface LeaseRef {
  jobId: number;
  leaseToken: string;
}

/** The runner lost its lease (it expired and the job was given to another runner, or the build ended). */
export class LeaseLostError extends Error {
  constructor(message = "the job's lease was lost") {
    super(message);
    this.name = "LeaseLostError";
  }
}

/** An upload went past its cap (artifacts per step, or one cache): nothing of it was kept; the message says which. */
export class OverCapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OverCapError";
  }
}

/** An artifact a job's steps may get (the build's own, or for a redeploy its original's). */
export interface ArtifactRef {
  id: number;
  /** The build that made it: the job's own, or its `artifactsOf`. */
  buildId: number;
  stepIndex: number;
  name: string;
  type: "shared" | "scoped";
  /** Bytes of its tar.gz. */
  size: number;
}

/**
 * What a runner may ask of the server. The in-process runner calls the server's implementation directly; a
 * remote runner calls the same methods over the runner API (HTTP with a runner token). Every call about a job
 * carries its lease and throws LeaseLostError when the lease is no longer the caller's.
 */
export interface RunnerProtocol {
  /**
   * The oldest job a runner may take now, leased to `runnerName`, or null when there is none. `labels`: the runner's
   * (with `self.hosted` and its OS); it gets only jobs whose steps' `runs-on` labels it all has.
   */
  claim(runnerName: string, labels?: string[]): Promise<JobSpec | null>;
  /** The runner starts: its labels, version and slots, for the runners' listing (remote runners; optional). */
  announce?(info: RunnerInfo): Promise<void>;
  /** Renews the lease. `stop: true` when the build was stopped (cancelled or superseded): stop the running step. */
  heartbeat(lease: LeaseRef): Promise<{ stop: boolean }>;
  /** The step starts: see StepStartAnswer for what the answer says. */
  stepStarted(lease: LeaseRef, stepIndex: number, info?: StepStartInfo): Promise<StepStartAnswer>;
  /** Stores a piece of the step's log at a byte offset; sending the same chunk twice stores it once. */
  appendLog(lease: LeaseRef, stepIndex: number, offset: number, data: Buffer): Promise<void>;
  /** `outputVariables`: what the step passed on to later steps (only names it declares in `output-variables`). */
  stepFinished(lease: LeaseRef, stepIndex: number, result: StepResultReport): Promise<void>;
  /**
   * The test reports the runner found after the step's run (before `stepFinished`); sent only when there were any.
   * Sending it again replaces what was stored for the step.
   */
  testReport(lease: LeaseRef, stepIndex: number, report: TestReportSummary): Promise<void>;
  /** The job ended: ran out of steps, a step failed, the build was stopped, or `pausedAt` a manual step. */
  jobFinished(lease: LeaseRef, result: { pausedAt?: number }): Promise<void>;
  /**
   * The runner is shutting down and gives the job back unfinished (its step was stopped): it is queued again at
   * once, without counting as a lost runner.
   */
  release(lease: LeaseRef): Promise<void>;
  /** The shared artifacts the job's steps may get: of its build (or, for a redeploy, of `artifactsOf`). */
  listArtifacts(lease: LeaseRef): Promise<ArtifactRef[]>;
  /** One of those artifacts as a tar.gz stream; RangeError when the job may not have it (or it expired). */
  downloadArtifact(lease: LeaseRef, artifactId: number): Promise<Readable>;
  /**
   * Uploads one artifact of a step (a tar.gz stream, read once). OverCapError when the step's artifacts together go
   * past the service's cap: nothing of it is kept.
   */
  uploadArtifact(lease: LeaseRef, stepIndex: number, artifact: { name: string; type: "shared" | "scoped" }, body: Readable): Promise<{ size: number }>;
  /** A saved cache of the job's application (a tar.gz stream), or null when none of that name is saved. */
  downloadCache(lease: LeaseRef, name: string): Promise<Readable | null>;
  /** Saves a cache of the job's application unless one of that name exists (`saved: false`); OverCapError past the cap. */
  uploadCache(lease: LeaseRef, name: string, body: Readable): Promise<{ saved: boolean }>;
}
