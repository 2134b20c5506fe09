import { spawn, type ChildProcess } from "node:child_process";

/**
 * Runs git with a controlled environment (no system or user config, a private HOME, UTC, no prompts) and
 * keeps track of the child processes so stop() can kill whatever is still running.
 */

export interface GitRunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export function gitEnvironment(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    XDG_CONFIG_HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    LANG: "C",
    LC_ALL: "C",
    TZ: "UTC",
  };
}

export class GitRunner {
  readonly children = new Set<ChildProcess>();

  constructor(readonly env: NodeJS.ProcessEnv) {}

  /** Spawns a child (tracked) with this runner's environment plus `extraEnv`. */
  spawn(args: string[], opts: { cwd?: string; extraEnv?: NodeJS.ProcessEnv } = {}): ChildProcess {
    const child = spawn("git", args, { cwd: opts.cwd, env: { ...this.env, ...opts.extraEnv }, stdio: ["pipe", "pipe", "pipe"] });
    this.children.add(child);
    child.once("close", () => this.children.delete(child));
    return child;
  }

  run(args: string[], opts: { cwd?: string; input?: string | Buffer; extraEnv?: NodeJS.ProcessEnv } = {}): Promise<GitRunResult> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(args, opts);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout?.on("data", (c: Buffer) => out.push(c));
      child.stderr?.on("data", (c: Buffer) => err.push(c));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") }));
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(opts.input);
    });
  }

  /** Runs git and returns its trimmed stdout; throws with git's stderr when it fails. */
  async out(args: string[], cwd?: string, extraEnv?: NodeJS.ProcessEnv): Promise<string> {
    const r = await this.run(args, { cwd, extraEnv });
    if (r.code !== 0) throw new Error(`git ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout.toString("utf8").trim();
  }

  killAll(): void {
    for (const c of this.children) c.kill("SIGKILL");
    this.children.clear();
  }
}
