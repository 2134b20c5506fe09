import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { main as runnerTokenMain } from "../../src/cli/runner-token";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Settles when it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running (for after-hooks). */
  dispose(): Promise<void>;
}

/**
 * Runs a TypeScript entry point of this project as its own process: `node --require tsx/cjs <file>` (what `npx tsx
 * <file>` runs, minus the tsx launcher process in front), so `pid` is the program itself and a SIGKILL to it kills
 * exactly that program, as a crash would. The environment is only what is given plus PATH and HOME.
 */
export function spawnTs(file: string, args: string[], env: Record<string, string | undefined>, uid?: number): Child {
  const proc = spawn(process.execPath, ["--require", "tsx/cjs", file, ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  let output = "";
  proc.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once("exit", (code, signal) => resolve({ code, signal }));
  });
  if (proc.pid === undefined) throw new Error(`cannot start ${file}`);
  return {
    proc,
    pid: proc.pid,
    output: () => output,
    exited,
    async dispose() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    },
  };
}

export interface RunnerProcessOptions {
  server: string;
  token: string;
  name: string;
  stateDir: string;
  workDir: string;
  /** More environment (PIPELINES_EXECUTOR, step limits…). */
  env?: Record<string, string>;
  /** Run as this uid (and gid) instead of the test's own. */
  uid?: number;
  /** More command-line options (`--labels gpu`, `--slots 2`…). */
  args?: string[];
}

/** `npm run runner` as a child process, the token in its environment, polling fast and with a short stop grace. */
export function spawnRunner(o: RunnerProcessOptions): Child {
  return spawnTs(
    "src/cli/runner.ts",
    ["--server", o.server, "--name", o.name, "--state-dir", o.stateDir, "--work-dir", o.workDir, "--poll-ms", "100", "--grace-ms", "1000", ...(o.args ?? [])],
    { PIPELINES_RUNNER_TOKEN: o.token, NODE_ENV: "test", LOG_LEVEL: "info", ...o.env },
    o.uid,
  );
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Whether a process exists that is not a zombie (dead, waiting to be reaped by PID 1). */
export { isGone } from "../runner/helpers";

/** `pipelines runner-token create --name <name>` against the server's database: the printed token. */
export async function createRunnerToken(env: Record<string, string | undefined>, name: string): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runnerTokenMain(["create", "--name", name], { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
  if (code !== 0 || out.length !== 1) throw new Error(`runner-token create failed (${code}): ${err.join("\n")}`);
  return out[0];
}
