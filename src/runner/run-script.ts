import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants as fsConstants } from "node:fs";
import { writeFile } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import type { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { buildStepScript } from "./build-step-script";
import { createMasker } from "./mask";
import { removePidFile, writePidFile } from "./pid-file";
import { stopProcessGroup } from "./stop-process-group";
import type { StepOutput } from "./step-output";

export interface ScriptOptions {
  commands: readonly string[];
  /** Where the generated script is written (a private directory: the script is never put in argv). */
  file: string;
  cwd: string;
  env: Record<string, string>;
  secrets: readonly string[];
  graceMs: number;
  output: StepOutput;
  pidFile?: string;
}

export interface ScriptRun {
  /**
   * Settles when the shell has exited, whatever it left running in its group has been stopped, and its output
   * has been passed on. `exitCode` is the shell's, or 128 + the signal number when a signal ended it.
   */
  done: Promise<{ exitCode: number }>;
  /** SIGTERM to the whole group, SIGKILL after the grace period. Idempotent. */
  stop(): void;
}

/** After the group is gone, how long (not counting back-pressure pauses) to wait for its pipes to close. */
const CLOSE_WAIT_MS = 1000;

/**
 * Runs `commands` as `bash -e <file>` in its own session and process group (`detached: true`), with exactly the
 * environment given, stdin from /dev/null, and stdout+stderr masked into `output` in the order they arrive.
 * (stdin must not be a socket, which Node's default pipes are: bash would then take itself for an rsh session
 * and read ~/.bashrc.)
 * Writes the group's pid record to `pidFile` while it runs. When the shell exits, anything it left running
 * (`sleep 1000 &`) is stopped too, as the end of a Bitbucket step ends its container. This is the `host` executor's
 * way of running a script: no isolation beyond the process group.
 */
export async function startScript(options: ScriptOptions): Promise<ScriptRun> {
  await writeFile(options.file, buildStepScript(options.commands), { mode: 0o600 });
  const child = spawn(bashPath(), ["-e", options.file], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = exitOf(child);
  const pid = child.pid;
  if (pid === undefined) {
    await exited; // rejects with the spawn error (missing cwd, no bash…)
    throw new Error("bash could not be started");
  }
  let stopping: Promise<boolean> | null = null;
  const stopGroup = () => (stopping ??= stopProcessGroup(pid, options.graceMs).catch(() => false));
  let pidFileError: { error: unknown } | null = null;
  try {
    if (options.pidFile) writePidFile(options.pidFile, pid);
  } catch (error) {
    pidFileError = { error };
  }
  if (pidFileError) {
    await stopGroup(); // never leave a process running that a restarted runner could not find
    await exited.catch(() => undefined);
    throw pidFileError.error;
  }
  return superviseRun({
    child,
    exited,
    output: options.output,
    secrets: options.secrets,
    stop: stopGroup,
    afterExit: stopGroup,
    leftoverNotice: "a process that left the step's process group still holds its output open; it was not stopped and its further output is not shown",
    finished: async () => {
      if (options.pidFile) await removePidFile(options.pidFile);
    },
  });
}

/** How a started process ended; rejects when it could not be started. */
export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  exited.catch(() => undefined); // handled where it is awaited; this only keeps it from counting as unhandled
  return exited;
}

export interface SupervisedProcess {
  /** Started with stdout and stderr as pipes. */
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: StepOutput;
  secrets: readonly string[];
  /** Stops everything the run started (SIGTERM, SIGKILL after the grace period). Idempotent. */
  stop(): Promise<unknown>;
  /** Runs once the main process has exited: stops whatever it left running. */
  afterExit(): Promise<unknown>;
  /** Said in the log when the output pipes stay open after `afterExit` (something escaped it). */
  leftoverNotice: string;
  /** Runs last, before `done` settles. */
  finished?(): Promise<void>;
}

/**
 * Passes a running script's stdout and stderr, masked, to its step output (pausing the pipes while the output is
 * busy, and handing them to `wc -c` once the log is full), and settles `done` when the process has exited, what it
 * left has been stopped, and its output has been passed on.
 */
export function superviseRun(p: SupervisedProcess): ScriptRun {
  const { output, child } = p;
  const streams = [child.stdout, child.stderr] as Readable[];
  let paused = false;
  const pause = () => {
    if (paused) return;
    paused = true;
    for (const s of streams) s.pause();
    void output.drained().then(() => {
      paused = false;
      for (const s of streams) s.resume();
    });
  };
  let open = streams.length;
  let allClosed: (() => void) | null = null;
  const drainers: Drainer[] = [];
  const finishers = streams.map((stream) => {
    const decoder = new StringDecoder("utf8");
    const masker = createMasker(p.secrets);
    let handedOff = false;
    stream.on("data", (data: Buffer) => {
      if (output.discarding()) {
        output.discard(data.length);
        if (!handedOff) {
          handedOff = true;
          const drainer = handOff(stream, output);
          if (drainer) drainers.push(drainer);
        }
        return;
      }
      if (!output.write(masker.push(decoder.write(data)))) pause();
    });
    stream.once("close", () => {
      open--;
      if (open === 0) allClosed?.();
    });
    return () => output.write(masker.push(decoder.end()) + masker.flush());
  });

  let finished = false;
  const done = (async () => {
    const { code, signal } = await p.exited;
    await p.afterExit();
    // The pipes usually close right after the exit: wait for that, not for a polling tick (time spent paused by
    // back-pressure does not count).
    let waited = 0;
    while (open > 0 && waited < CLOSE_WAIT_MS) {
      const wasPaused = paused;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        allClosed = () => {
          clearTimeout(t);
          resolve();
        };
      });
      allClosed = null;
      if (!wasPaused && !paused) waited += 20;
    }
    for (const finish of finishers) finish();
    await Promise.all(drainers.map((d) => d.finished(CLOSE_WAIT_MS)));
    if (open > 0) {
      output.notice(`[pipelines] ${p.leftoverNotice}`);
      for (const s of streams) s.destroy();
    }
    await p.finished?.();
    finished = true;
    return { exitCode: code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0) };
  })();

  return {
    done,
    stop: () => {
      if (!finished) void p.stop();
    },
  };
}

interface Drainer {
  /** Resolves once the drainer has counted everything (or was stopped after `waitMs` if something still writes). */
  finished(waitMs: number): Promise<void>;
}

/**
 * Once the log is full, the rest of a stream is only counted: hand its pipe to `wc -c`, which reads it at the speed
 * of C instead of one Node callback per 64 KiB, and add its count when it ends. Returns null (and the stream goes on
 * being read and counted here) when the pipe's descriptor cannot be handed on.
 */
function handOff(stream: Readable, output: StepOutput): Drainer | null {
  const fd = (stream as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) return null;
  stream.pause();
  let counter;
  try {
    counter = spawn("wc", ["-c"], { stdio: [fd, "pipe", "ignore"], env: { PATH: "/usr/bin:/bin", LC_ALL: "C" } });
  } catch {
    stream.resume();
    return null;
  }
  // What Node had already read but not yet emitted is dropped with the stream: count it too.
  output.discard(stream.readableLength);
  stream.destroy();
  let text = "";
  counter.stdout?.on("data", (b: Buffer) => (text += b.toString()));
  const ended = new Promise<void>((resolve) => {
    counter.once("error", () => resolve());
    counter.once("close", () => {
      const n = Number(text.trim());
      if (Number.isSafeInteger(n) && n > 0) output.discard(n);
      resolve();
    });
  });
  return {
    async finished(waitMs) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
      await Promise.race([ended, late]);
      clearTimeout(timer);
      // Only a process that left the step's session can still be writing: stop counting it.
      if (counter.exitCode === null && counter.signalCode === null) counter.kill("SIGKILL");
    },
  };
}

let bash: string | undefined;
/** bash by absolute path: the step's PATH is the user's, and must not decide which program runs the script. */
export function bashPath(): string {
  bash ??= ["/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash"].find((p) => {
    try {
      accessSync(p, fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  }) ?? "bash";
  return bash;
}
