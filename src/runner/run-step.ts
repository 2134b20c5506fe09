import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildStepEnv } from "./build-step-env";
import type { PipeItem, ScriptItem } from "../pipelines";
import { startScript, type ScriptRun } from "./run-script";
import { createStepOutput, type OutputTarget, type StepOutput } from "./step-output";
import { removeWorkspace } from "./workspace";

export type StepState = "SUCCESSFUL" | "FAILED" | "STOPPED" | "TIMED_OUT";

export interface StepResult {
  /** The main script's exit code; null when it was stopped (cancel or max-time) before it ended. */
  exitCode: number | null;
  state: StepState;
  /** Present when an after-script was run; null when it was stopped before it ended. */
  afterScriptExitCode?: number | null;
  durationMs: number;
}

export interface RunStepOptions {
  /** Shell commands, and pipes when `runPipe` is given (a list of commands runs as one script between pipes). */
  script: readonly ScriptItem[];
  afterScript?: readonly ScriptItem[];
  cwd: string;
  /**
   * The complete environment of the step: nothing of the runner's own environment is inherited. Only PATH
   * (a fixed safe default), HOME (a fresh private directory, removed afterwards) and LANG=C.UTF-8 are added,
   * each only when absent.
   */
  env: Readonly<Record<string, string>>;
  /** Values masked in the output (see `createMasker`; values shorter than 4 characters are not masked). */
  secrets: readonly string[];
  /** For the whole step, after-script included. */
  maxTimeMs: number;
  /** Aborting it stops the step: state STOPPED. */
  signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL. Default 10 s. */
  graceMs?: number;
  /** Receives the masked output in order; return a promise to make the step wait (e.g. a `LogSink`). */
  output: OutputTarget;
  /** While a script runs, its process group's pid record is kept here (see `killLeftoverGroups`). */
  pidFile?: string;
  /** Where the private directory for the generated scripts and the default HOME is made. Default: os.tmpdir(). */
  tempDir?: string;
  /**
   * Starts one list of commands (the executor's way: see executors/executor.ts). Without it the commands run as
   * `bash -e` in a process group of the runner's own (the host executor; `cwd` and `pidFile` apply only then).
   */
  run?(commands: readonly string[], env: Record<string, string>, output: StepOutput, graceMs: number): Promise<ScriptRun>;
  /** Starts a pipe (the container executor); without it a step's pipes are an error. */
  runPipe?(pipe: PipeItem, env: Record<string, string>, output: StepOutput, graceMs: number): Promise<ScriptRun>;
}

/** Consecutive commands as one list, each pipe on its own. */
function segments(items: readonly ScriptItem[]): Array<string[] | PipeItem> {
  const out: Array<string[] | PipeItem> = [];
  for (const item of items) {
    if (typeof item !== "string") out.push(item);
    else if (Array.isArray(out[out.length - 1])) (out[out.length - 1] as string[]).push(item);
    else out.push([item]);
  }
  return out;
}

type StopReason = "STOPPED" | "TIMED_OUT" | "OUTPUT_FAILED";

/** setTimeout fires at once for longer delays; ~24.8 days is "never" for a step. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs one step's script, then its after-script, like Bitbucket does:
 * - each list of commands runs as `bash -e <script file>` in its own process group, commands echoed as `+ cmd`;
 * - the after-script runs after the script succeeded or failed, with BITBUCKET_EXIT_CODE set to the script's exit
 *   code; its failure is logged but does not change the step's result. It does not run when the step was
 *   stopped or timed out;
 * - on max-time or cancel the process group gets SIGTERM, then SIGKILL after `graceMs` (background children
 *   included); a stop or time-out during the after-script also makes the step STOPPED / TIMED_OUT;
 * - if `output` fails, the step is stopped the same way and `runStep` rejects with that error.
 */
export async function runStep(options: RunStepOptions): Promise<StepResult> {
  const started = performance.now();
  const { maxTimeMs } = options;
  const graceMs = options.graceMs ?? 10_000;
  if (!(maxTimeMs > 0) || !Number.isFinite(maxTimeMs)) throw new RangeError("runStep: maxTimeMs must be a positive number");
  if (!(graceMs >= 0)) throw new RangeError("runStep: graceMs must be >= 0");

  let stopReason: StopReason | null = null;
  let current: ScriptRun | null = null;
  const output = createStepOutput(options.output, () => stop("OUTPUT_FAILED"));
  const stop = (reason: StopReason, line?: string) => {
    if (stopReason) return;
    stopReason = reason;
    if (line) output.notice(line);
    current?.stop();
  };
  const onAbort = () => stop("STOPPED", "[pipelines] stop requested; stopping the step");
  // The script files and a default HOME, when the step runs here as plain bash (an executor needs neither).
  const privateDir = options.run ? null : await mkdtemp(join(options.tempDir ?? tmpdir(), "pipelines-step-"));
  const timer = setTimeout(
    () => stop("TIMED_OUT", `[pipelines] step exceeded max-time of ${formatDuration(maxTimeMs)}; stopping`),
    Math.min(maxTimeMs, MAX_TIMER_MS),
  );
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const home = join(privateDir ?? tmpdir(), "home");
    if (options.env.HOME === undefined && privateDir) await mkdir(home, { mode: 0o700 });
    const env = buildStepEnv(options.env, home);
    const start = async (what: string[] | PipeItem, file: string, scriptEnv: Record<string, string>): Promise<ScriptRun> => {
      if (!Array.isArray(what)) {
        if (!options.runPipe) throw new Error(`this executor cannot run the pipe ${what.pipe}`);
        output.notice(`[pipelines] running pipe ${what.pipe}`);
        return options.runPipe(what, scriptEnv, output, graceMs);
      }
      return options.run
        ? options.run(what, scriptEnv, output, graceMs)
        : startScript({ commands: what, file, cwd: options.cwd, env: scriptEnv, secrets: options.secrets, graceMs, output, pidFile: options.pidFile });
    };
    /** Runs a script's commands and pipes in order; the first failing one ends it with its exit code (like bash -e). */
    const run = async (items: readonly ScriptItem[], file: string, scriptEnv: Record<string, string>): Promise<number> => {
      for (const segment of segments(items)) {
        current = await start(segment, file, scriptEnv);
        if (stopReason) current.stop();
        let code: number;
        try {
          code = (await current.done).exitCode;
        } finally {
          current = null;
        }
        if (code !== 0 || stopReason) return code;
      }
      return 0;
    };

    const mainCode = stopReason ? null : await run(options.script, join(privateDir ?? "", "script.sh"), env);
    const exitCode = stopReason ? null : mainCode; // null when we stopped the script before it ended

    let afterScriptExitCode: number | null | undefined;
    if (options.afterScript?.length && exitCode !== null && !stopReason) {
      output.notice("[pipelines] running after-script");
      const afterEnv = { ...env, BITBUCKET_EXIT_CODE: String(exitCode) };
      const code = await run(options.afterScript, join(privateDir ?? "", "after-script.sh"), afterEnv);
      afterScriptExitCode = stopReason ? null : code;
      if (afterScriptExitCode !== null && afterScriptExitCode !== 0) {
        output.notice(`[pipelines] after-script failed with exit code ${afterScriptExitCode}; the step result is unchanged`);
      }
    }

    await output.drained();
    if (output.failure) throw output.failure.error;
    const reason = stopReason as StopReason | null;
    const state: StepState =
      reason === "STOPPED" || reason === "TIMED_OUT" ? reason : exitCode === 0 ? "SUCCESSFUL" : "FAILED";
    return {
      exitCode,
      state,
      ...(afterScriptExitCode !== undefined ? { afterScriptExitCode } : {}),
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    // removeWorkspace copes with what builds leave in HOME (Go's read-only module cache…). A failure here must
    // not turn a finished step into an error: it is reported in the log instead.
    if (privateDir) await removeWorkspace(privateDir).catch((error: unknown) =>
      output.notice(`[pipelines] could not remove the step's temporary directory ${privateDir}: ${String(error)}`),
    );
  }
}

function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return ms === 60_000 ? "1 minute" : `${ms / 60_000} minutes`;
  const seconds = Math.round(ms / 100) / 10;
  return seconds === 1 ? "1 second" : `${seconds} seconds`;
}
