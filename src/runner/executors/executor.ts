import type { Readable } from "node:stream";
import type { ImageSpec, PipeItem, ServiceSpec } from "../../pipelines";
import type { ScriptRun } from "../run-script";
import type { StepOutput } from "../step-output";

/**
 * How a runner isolates the steps it runs (ARCHITECTURE.md, "Steps are hostile code"). One implementation per folder
 * beside this file; the runner picks one with PIPELINES_EXECUTOR and never asks which one it has.
 *
 * The life of a job: `job()` gives it a workspace on the runner's disk (the checkout, every step's work tree, HOME and
 * /tmp live there); for each step the runner makes the step's directories, then `JobSandbox.step()` prepares the
 * step's isolation (cgroup, network, containers…), `StepSandbox.run()` runs its script and after-script in it,
 * `problems()` says what the executor saw go wrong, and `teardown()` leaves nothing of it running. `release()` ends
 * the job.
 */
export type ExecutorName = "sandbox" | "container" | "host";

export interface Executor {
  readonly name: ExecutorName;
  /** One line for the runner's start log: what isolates steps, with which limits. */
  describe(): string;
  /** A workspace for a job on `slot` (0-based; each slot runs one job at a time). */
  job(slot: number): Promise<JobSandbox>;
  /** The runner stops: pools are emptied, nothing is left behind. */
  close(): Promise<void>;
}

/** The uid and gid a step's files must belong to (its processes run as them). */
export interface Owner {
  uid: number;
  gid: number;
}

export interface JobSandbox {
  /** The job's directory on the runner's disk (for `sandbox`/`container`: a filesystem of its own, size-capped). */
  readonly dir: string;
  /** Who must own the step's work tree, HOME and /tmp; null: the runner's own user (host). */
  readonly owner: Owner | null;
  /** Prepares a step's isolation. Throws StepRefusedError when this executor cannot run the step as written. */
  step(spec: StepSpec): Promise<StepSandbox>;
  /**
   * Copies `from` (a directory the runner keeps: a cache, the build's artifacts) into `into` (inside the step's work
   * tree or HOME) as the step's owner, so that links the step's files contain cannot lead the copy out of them.
   */
  copyIn(from: string, into: string): Promise<void>;
  /**
   * Copies `from` (inside a finished step's work tree or HOME) to `to` (a new directory the runner keeps), never
   * following a link out of the step's files; with `files`, only those paths (relative to `from`).
   */
  copyOut(from: string, to: string, files?: readonly string[]): Promise<void>;
  /**
   * A tar.gz of `from` (inside a finished step's work tree or HOME), made as the step's owner so it holds only what
   * the step could read; links are packed as links, never followed. With `files`, only those paths (relative to
   * `from`). The stream fails, rather than ends, when packing fails; destroying it stops the packing.
   */
  packOut(from: string, files?: readonly string[]): Readable;
  /**
   * Unpacks a tar.gz (an artifact or cache from the server) into `into` (inside the step's work tree or HOME) as the
   * step's owner, so that no entry of it can write outside the step's own files.
   */
  unpackIn(into: string, body: Readable): Promise<void>;
  /** True when the job's filesystem is (nearly) full: a failing step then says so. */
  diskFull(): Promise<boolean>;
  /** Unmounts and removes the workspace. */
  release(): Promise<void>;
}

/** Where a step's files are on the runner's disk; the executor shows them to the step at `StepSandbox.paths`. */
export interface StepDirs {
  /** The step's clone (or an empty directory when cloning is off). */
  workTree: string;
  home: string;
  tmp: string;
  /** The job repository's objects, which the step's clone borrows (read-only); null when the step has no clone. */
  repoObjects: string | null;
}

export interface StepSpec {
  jobId: number;
  stepIndex: number;
  /** Whose step it is: an image pulled with one application's credentials is never used by another without its own. */
  applicationId: number;
  /** The step's environment (for `$VARIABLES` in image credentials and pipe variables). */
  env: Readonly<Record<string, string>>;
  dirs: StepDirs;
  /** 1, 2, 4, 8: memory is size × the runner's 1x memory. */
  size: number;
  image?: ImageSpec;
  services: ServiceSpec[];
  /** The step's pipes (script and after-script), so an executor that cannot run them refuses before the step starts. */
  pipes: PipeItem[];
}

/** What one `run()` runs. */
export interface RunSpec {
  commands: readonly string[];
  /** The whole environment, with the paths as the step sees them (`StepSandbox.paths`). */
  env: Readonly<Record<string, string>>;
  output: StepOutput;
  secrets: readonly string[];
  graceMs: number;
}

/** Runs a pipe (the container executor only). */
export interface PipeRunSpec {
  pipe: PipeItem;
  env: Readonly<Record<string, string>>;
  output: StepOutput;
  secrets: readonly string[];
  graceMs: number;
}

export interface StepSandbox {
  /** Where the step sees its clone, HOME and /tmp (BITBUCKET_CLONE_DIR, HOME, TMPDIR). */
  readonly paths: { cloneDir: string; home: string; tmp: string };
  /** The first lines of the step's log: which executor, which image, which limits. */
  readonly header: string[];
  run(spec: RunSpec): Promise<ScriptRun>;
  /** Present when the executor runs pipes. */
  runPipe?(spec: PipeRunSpec): Promise<ScriptRun>;
  /** What went wrong beyond an exit code (out of memory…), as lines for the log; empty when nothing did. */
  problems(): Promise<string[]>;
  /** Stops everything of the step that may still run and frees what `step()` took. Idempotent. */
  teardown(): Promise<void>;
}

/** The executor cannot run this step as written; the message says why (it goes to the step's log). */
export class StepRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StepRefusedError";
  }
}

/** The machine cannot give this executor what it needs; the message says what is missing and how to fix it. */
export class ExecutorUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExecutorUnavailableError";
  }
}
