import { spawn } from "node:child_process";

/** The PATH the runner's own tools are looked up in; never the step's. */
export const TOOL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Runs one of the runner's own system tools (ip, mount, mkfs.ext4, chown…) with a fixed minimal environment and
 * `input` on stdin; rejects with its stderr when it fails.
 */
export function runTool(command: string, args: readonly string[], input?: string): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"], env: { PATH: TOOL_PATH, LC_ALL: "C" } });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve({ stdout });
      else reject(new Error(`${command} ${args.join(" ")} failed (exit code ${code}): ${stderr.trim() || "no message"}`));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
