import { spawn } from "node:child_process";
import { DEFAULT_PATH } from "./build-step-env";

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs git with a clean environment: no terminal prompt, no system or global config, and the clone credentials
 * — when given — only as `http.extraHeader` through GIT_CONFIG_* variables: never in argv, never in a URL.
 * Arguments are passed as an array (no shell), and callers put `--` before anything that came from outside.
 * Over SSH, the key travels as a file path in GIT_SSH_COMMAND (see {@link gitSshCommand}), never its contents.
 */
/** Files of an SSH clone: the private key and the pinned known_hosts, both 0600 in a private temporary directory. */
export interface SshFiles {
  keyFile: string;
  knownHostsFile: string;
  port: number;
}

/** Quotes a path for the shell git runs GIT_SSH_COMMAND with. */
const shellQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/**
 * `GIT_SSH_COMMAND`: the key only as a file path, no agent or user config, and only the pinned host key accepted.
 */
export function gitSshCommand(f: SshFiles): string {
  return [
    "ssh",
    "-F /dev/null",
    `-i ${shellQuote(f.keyFile)}`,
    `-p ${f.port}`,
    "-o IdentitiesOnly=yes",
    "-o IdentityAgent=none",
    "-o BatchMode=yes",
    "-o StrictHostKeyChecking=yes",
    `-o UserKnownHostsFile=${shellQuote(f.knownHostsFile)}`,
    "-o GlobalKnownHostsFile=/dev/null",
    "-o ConnectTimeout=30",
  ].join(" ");
}

/**
 * As root: the command as the first process of a pid namespace of its own that ends with `unshare` (`--kill-child`),
 * so the helpers git starts (git-remote-https, index-pack) die with it too instead of finishing a fetch as orphans.
 */
const inOwnPidNamespace = (): string[] => (process.getuid?.() === 0 ? ["unshare", "--pid", "--fork", "--kill-child=SIGKILL", "--"] : []);

/**
 * `dieWithRunner`: git gets SIGKILL when the runner dies (`setpriv --pdeathsig`), for commands that write a
 * repository the runner keeps (a mirror) under a lock that dies with the runner: no orphan may go on writing it
 * once the lock is free (as root, nor any process git started; otherwise git's helpers end when their pipes close).
 */
export function git(
  args: string[],
  opts: {
    cwd?: string;
    extraHeader?: string | null;
    /** Send `extraHeader` only to URLs under this one (`http.<url>.extraHeader`: Git LFS, whose downloads may go elsewhere). */
    extraHeaderFor?: string;
    /** More configuration, through the environment like the header (never a credential: those go in `extraHeader`). */
    config?: Record<string, string>;
    ssh?: SshFiles | null;
    home: string;
    signal?: AbortSignal;
    dieWithRunner?: boolean;
  },
): Promise<GitResult> {
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOME: opts.home,
    LANG: "C.UTF-8",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_ASKPASS: "/bin/false",
  };
  const config: Array<[string, string]> = Object.entries(opts.config ?? {});
  if (opts.extraHeader) config.push([opts.extraHeaderFor ? `http.${opts.extraHeaderFor}.extraHeader` : "http.extraHeader", opts.extraHeader]);
  if (config.length) {
    env.GIT_CONFIG_COUNT = String(config.length);
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
  }
  if (opts.ssh) env.GIT_SSH_COMMAND = gitSshCommand(opts.ssh);
  return new Promise((resolve, reject) => {
    const [command, argv] = opts.dieWithRunner ? ["setpriv", ["--pdeathsig", "SIGKILL", "--", ...inOwnPidNamespace(), "git", ...args]] : ["git", args];
    const child = spawn(command, argv, { cwd: opts.cwd, env, stdio: ["ignore", "pipe", "pipe"], signal: opts.signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
  });
}
