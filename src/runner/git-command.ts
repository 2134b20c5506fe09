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
 */
export function git(args: string[], opts: { cwd?: string; extraHeader?: string | null; home: string; signal?: AbortSignal }): Promise<GitResult> {
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOME: opts.home,
    LANG: "C.UTF-8",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_ASKPASS: "/bin/false",
  };
  if (opts.extraHeader) {
    env.GIT_CONFIG_COUNT = "1";
    env.GIT_CONFIG_KEY_0 = "http.extraHeader";
    env.GIT_CONFIG_VALUE_0 = opts.extraHeader;
  }
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { cwd: opts.cwd, env, stdio: ["ignore", "pipe", "pipe"], signal: opts.signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
  });
}
