import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { TOOL_PATH } from "../sandbox/run-tool";

/**
 * podman's command line, run by the runner as root with a fixed minimal environment (never a variable a step chose:
 * podman is a dynamically linked program running as root). `runc` is used when it is installed: Debian's default
 * `crun` cannot start containers on some kernels.
 */
export class Podman {
  readonly globalArgs: string[];
  private readonly env: Record<string, string>;

  /**
   * `confFile`: a containers.conf of the runner's (see `writeContainersConf`), so that podman's defaults never need
   * what a step's network namespace — made by the runner, not by podman — refuses (its sysctls).
   */
  constructor(confFile: string) {
    this.env = { PATH: TOOL_PATH, LC_ALL: "C", HOME: "/root", CONTAINERS_CONF: confFile };
    this.globalArgs = ["--log-level", "error"];
    if (["/usr/bin/runc", "/usr/sbin/runc", "/usr/local/bin/runc"].some((p) => existsSync(p))) this.globalArgs.push("--runtime", "runc");
  }

  /** Runs podman to the end; `input` goes to its stdin. */
  run(args: readonly string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(args, [input === undefined ? "ignore" : "pipe", "pipe", "pipe"]);
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (b: Buffer) => (stdout += b.toString()));
      child.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
      child.once("error", reject);
      child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  /** Like `run`, rejecting with podman's own message when it fails. */
  async ok(args: readonly string[], input?: string): Promise<string> {
    const r = await this.run(args, input);
    if (r.code !== 0) throw new Error(r.stderr.trim().replace(/^Error: /, "") || `podman ${args[0]} failed (exit code ${r.code})`);
    return r.stdout;
  }

  spawn(args: readonly string[], stdio: Array<"ignore" | "pipe">): ChildProcess {
    return spawn("podman", [...this.globalArgs, ...args], { stdio, env: this.env });
  }

  /** Whether podman can start a container here; the reason when it cannot. */
  check(): string | null {
    const r = spawnSync("podman", [...this.globalArgs, "info", "--format", "{{.Host.OCIRuntime.Name}}"], { env: this.env, encoding: "utf8" });
    if (r.error) return r.error.message;
    if (r.status !== 0) return (r.stderr || "").trim() || `podman info failed (exit code ${r.status})`;
    return null;
  }
}

/**
 * The runner's containers.conf: no default sysctls (podman sets net.ipv4.ping_group_range in every container, which a
 * container's user namespace may not do in a network namespace the runner made for the step).
 */
export function writeContainersConf(file: string): void {
  writeFileSync(file, "[containers]\ndefault_sysctls = []\n", { mode: 0o644 });
}
