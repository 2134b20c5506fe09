/**
 * `npm run runner -- --server URL [--name N] [--labels a,b] [--work-dir DIR] [--state-dir DIR]`
 *
 * A runner on any machine: claims jobs from the web tier over the runner API and runs them. It needs the server's
 * URL and a runner token (`npm run pipelines -- runner-token create --name N`), never database credentials.
 *
 * The token, exactly one of (the first two are recommended: a command line is visible to every user in `ps`):
 *   PIPELINES_RUNNER_TOKEN=<token>   in the environment (removed from it once read)
 *   --token-file <file>              a file holding the token (keep it mode 600)
 *   --token <token>                  accepted, with a warning
 *
 * SIGTERM or SIGINT stops claiming, stops the running steps and abandons their jobs, which the server gives to
 * another runner once their lease expires; a second signal exits at once (the next start with the same --state-dir
 * stops whatever that left running).
 */
import { wantsHelp } from "./cli-help";
import { readFileSync, statSync } from "node:fs";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ConfigError } from "../config/config-error";
import { loadExecutorSettings, type ExecutorSettings } from "../config/executor-settings";
import { createLogger, registerSecret, type Logger } from "../log/logger";
import { HttpRunnerProtocol, RunnerUnauthorizedError } from "../runner/http-runner-protocol";
import { readBootId, readProcStat } from "../runner/proc-stat";
import { startRunner, type RunningRunner } from "../runner/runner-loop";
import { RUNNER_NAME, RUNNER_TOKEN } from "../runner/runner-tokens";
import { checkLabels, RunnerInfoError } from "../runner/runner-registry";

export const USAGE = `usage: npm run runner -- --server <url> [--name <name>] [--labels <a,b>] [--work-dir <dir>] [--state-dir <dir>] [--slots <n>]
                      [--token-file <file> | --token <token>] [--poll-ms <ms>] [--grace-ms <ms>]
  The runner token comes from PIPELINES_RUNNER_TOKEN (recommended) or --token-file (recommended), or --token
  (accepted, but other users of this machine can read a command line). Create one on the server with
  npm run pipelines -- runner-token create --name <name>
  --name       what the server calls this runner (default: the host name)
  --labels     its labels, comma-separated (e.g. linux,gpu); it also has self.hosted and its OS. It takes only
               steps whose runs-on labels it all has
  --work-dir   where build workspaces are made (default ~/.pipelines-runner/<name>/work)
  --state-dir  where running steps are recorded, so a restart stops what a crash left (default ~/.pipelines-runner/<name>/state)
  --slots      jobs run at once (default 1)`;

export interface RunnerArgs {
  server: string;
  token: string;
  /** Where the token came from, for the log. */
  tokenSource: "env" | "file" | "argv";
  name: string;
  workDir: string;
  stateDir: string;
  pollMs?: number;
  graceMs?: number;
  slots?: number;
  /** `--labels`, checked (it also has `self.hosted` and its OS). */
  labels: string[];
  /** From PIPELINES_EXECUTOR and the step limits in the environment. */
  executor: ExecutorSettings;
}

export class UsageError extends Error {}

const VALUE_OPTIONS = new Set(["--server", "--token", "--token-file", "--name", "--work-dir", "--state-dir", "--poll-ms", "--grace-ms", "--slots", "--labels"]);

/** Reads the command line and the environment; throws UsageError naming what to fix. */
export function parseRunnerArgs(argv: string[], env: Record<string, string | undefined>, warn: (line: string) => void = () => undefined): RunnerArgs {
  const opts = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const [key, inline] = arg.startsWith("--") && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (!VALUE_OPTIONS.has(key)) throw new UsageError(`unknown option ${key}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === "") throw new UsageError(`${key} needs a value`);
    if (opts.has(key)) throw new UsageError(`${key} is given twice`);
    opts.set(key, value);
  }

  const server = opts.get("--server");
  if (!server) throw new UsageError("--server <url> is required: the Pipelines web tier's base URL");

  const sources: Array<RunnerArgs["tokenSource"]> = [];
  if (env.PIPELINES_RUNNER_TOKEN) sources.push("env");
  if (opts.has("--token-file")) sources.push("file");
  if (opts.has("--token")) sources.push("argv");
  if (sources.length === 0) throw new UsageError("no runner token: set PIPELINES_RUNNER_TOKEN, or give --token-file <file>");
  if (sources.length > 1) throw new UsageError("the runner token is given more than one way (PIPELINES_RUNNER_TOKEN, --token-file, --token): give it once");
  const tokenSource = sources[0];
  let token: string;
  if (tokenSource === "env") token = (env.PIPELINES_RUNNER_TOKEN ?? "").trim();
  else if (tokenSource === "argv") {
    token = (opts.get("--token") ?? "").trim();
    warn("warning: --token puts the runner token on the command line, where other users of this machine can read it; prefer PIPELINES_RUNNER_TOKEN or --token-file");
  } else {
    const file = opts.get("--token-file") ?? "";
    try {
      token = readFileSync(file, "utf8").trim();
      if ((statSync(file).mode & 0o077) !== 0) warn(`warning: ${file} can be read by other users; chmod 600 it`);
    } catch (err) {
      throw new UsageError(`cannot read the token file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (!RUNNER_TOKEN.test(token)) throw new UsageError("that is not a runner token (pplr_ followed by 43 characters); create one with npm run pipelines -- runner-token create --name <name>");

  const name = opts.get("--name") ?? defaultName();
  if (!RUNNER_NAME.test(name)) throw new UsageError(`--name "${name}": letters, digits and . _ @ : -, at most 128, starting with a letter or digit`);
  const home = os.homedir();
  const root = home ? path.join(home, ".pipelines-runner", name) : path.resolve("runner-data", name);
  const slots = intOption(opts, "--slots", 1, 64);
  let labels: string[];
  try {
    labels = checkLabels((opts.get("--labels") ?? "").split(","));
  } catch (err) {
    if (err instanceof RunnerInfoError) throw new UsageError(`--labels: ${err.message}`);
    throw err;
  }
  let executor: ExecutorSettings;
  try {
    executor = loadExecutorSettings(env, slots ?? 1);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  return {
    server,
    token,
    tokenSource,
    name,
    workDir: path.resolve(opts.get("--work-dir") ?? path.join(root, "work")),
    stateDir: path.resolve(opts.get("--state-dir") ?? path.join(root, "state")),
    pollMs: msOption(opts, "--poll-ms", 50, 60_000),
    graceMs: msOption(opts, "--grace-ms", 0, 600_000),
    slots,
    labels,
    executor,
  };
}

function intOption(opts: Map<string, string>, key: string, min: number, max: number, unit = ""): number | undefined {
  const raw = opts.get(key);
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${key} must be a whole number${unit} from ${min} to ${max}`);
  return n;
}

const msOption = (opts: Map<string, string>, key: string, min: number, max: number) => intOption(opts, key, min, max, " of milliseconds");

/** The host name, made a valid runner name. */
function defaultName(): string {
  const name = os.hostname().replace(/[^A-Za-z0-9._@:-]/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 128);
  return name || "runner";
}

interface LockRecord {
  pid: number;
  startTime: number | null;
  bootId: string | null;
}

/**
 * Takes `<stateDir>/runner.lock` for this process. Two runners sharing a state directory would stop each other's
 * steps on start, so a second one is refused while the first is alive (same boot, same pid and start time); a
 * lock left by a runner that died is taken over. Returns the release function.
 */
export async function lockStateDir(stateDir: string): Promise<() => Promise<void>> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, "runner.lock");
  const mine: LockRecord = { pid: process.pid, startTime: readProcStat(process.pid)?.startTime ?? null, bootId: readBootId() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, "wx", 0o600);
      await handle.writeFile(JSON.stringify(mine) + "\n");
      await handle.close();
      return async () => {
        const held = await readLock(file);
        if (held?.pid === mine.pid) await rm(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const held = await readLock(file);
    if (held && held.pid !== process.pid && lockHolderAlive(held)) {
      throw new UsageError(`another runner (pid ${held.pid}) uses the state directory ${stateDir}; give each runner its own --state-dir`);
    }
    await rm(file, { force: true });
  }
  throw new Error(`cannot take the lock ${file}`);
}

async function readLock(file: string): Promise<LockRecord | null> {
  try {
    const r = JSON.parse(await readFile(file, "utf8")) as Partial<LockRecord>;
    return Number.isInteger(r.pid) ? { pid: r.pid as number, startTime: r.startTime ?? null, bootId: r.bootId ?? null } : null;
  } catch {
    return null;
  }
}

function lockHolderAlive(held: LockRecord): boolean {
  const stat = readProcStat(held.pid);
  if (stat) return held.bootId === readBootId() && held.startTime === stat.startTime && stat.state !== "Z";
  try {
    process.kill(held.pid, 0); // no /proc: all we can tell is whether the pid exists
    return held.bootId === null;
  } catch {
    return false;
  }
}

export interface RunnerProcess {
  runner: RunningRunner;
  /** Stops claiming, stops running steps (their jobs are abandoned to the lease reaper), releases the state directory. */
  stop(): Promise<void>;
}

/** Checks the token against the server, then starts the runner loop with the HTTP client. */
export async function startRemoteRunner(args: RunnerArgs, log: Logger, onUnauthorized: (message: string) => void): Promise<RunnerProcess> {
  const api = new HttpRunnerProtocol({ server: args.server, token: args.token, onUnauthorized });
  const release = await lockStateDir(args.stateDir);
  try {
    const { name: registered } = await api.whoAmI();
    const from = { env: "PIPELINES_RUNNER_TOKEN", file: "--token-file", argv: "--token" }[args.tokenSource];
    log.info(`runner starting (its token from ${from})`, { server: args.server, registeredAs: registered, workDir: args.workDir, stateDir: args.stateDir });
    const runner = await startRunner({ api, name: args.name, workDir: args.workDir, stateDir: args.stateDir, log, pollMs: args.pollMs, graceMs: args.graceMs, slots: args.slots, labels: args.labels, executor: args.executor, inProcess: false });
    let stopping: Promise<void> | null = null;
    return {
      runner,
      stop: () => (stopping ??= runner.stop().finally(release)),
    };
  } catch (err) {
    await release();
    throw err;
  }
}

export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  if (wantsHelp(argv)) {
    console.log(USAGE);
    return 0;
  }
  let args: RunnerArgs;
  try {
    args = parseRunnerArgs(argv, env, (line) => console.error(line));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(err.message);
    console.error(USAGE);
    return 2;
  }
  // The token is ours alone: out of the environment (nothing started from here inherits it), out of every log line.
  delete env.PIPELINES_RUNNER_TOKEN;
  registerSecret(args.token);
  const log = createLogger({ runner: args.name });
  if (new URL(args.server).protocol === "http:" && !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(new URL(args.server).hostname)) {
    log.warn("the server URL is plain http: the runner token and the clone credentials cross the network unencrypted");
  }

  let exitCode = 0;
  let proc: RunnerProcess | undefined;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const shutdown = () => void proc?.stop().then(finished, finished);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1 || !proc) {
      log.warn(`${signal}: exiting now; the next start with this --state-dir stops whatever is left running`);
      process.exit(130);
    }
    log.info(`${signal}: no more claims; stopping the running steps (the server retries their jobs when the lease expires)`);
    shutdown();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    proc = await startRemoteRunner(args, log, (message) => {
      if (exitCode !== 0 || !proc) return; // refused while starting: the error below says so
      exitCode = 1;
      log.error(`${message}; stopping`);
      shutdown();
    });
  } catch (err) {
    const usage = err instanceof UsageError;
    console.error(usage || err instanceof RunnerUnauthorizedError ? (err as Error).message : `cannot start the runner: ${(err as Error).message}`);
    return usage ? 2 : 1;
  }
  await done;
  return exitCode;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
