import { spawn } from "node:child_process";
import { DEFAULT_PATH } from "./build-step-env";

/** Gives the lock back (idempotent); resolves once the kernel has released it. */
export type Unlock = () => Promise<void>;

/**
 * Takes an flock(2) lock on `file` (created if missing), shared or exclusive, and holds it until the returned
 * function is called. The lock is held by one small child (`flock` that became `cat`) whose stdin is a pipe from this
 * process: it ends when told to, and also when this process dies in any way (kill -9 included), because the pipe
 * then closes — so a lock is never left behind by a dead runner and there is nothing stale to detect. flock locks are
 * per open file, so two slots of one runner, and two runner processes on one machine, exclude each other alike (not
 * across machines, and not on NFS, where flock is emulated: keep the runner's state directory on a local disk).
 */
export function lockFile(file: string, mode: "shared" | "exclusive", signal?: AbortSignal): Promise<Unlock> {
  return new Promise((resolve, reject) => {
    // `flock --no-fork` becomes `cat` once it holds the lock: the line written now comes back only then.
    const child = spawn("flock", ["--no-fork", mode === "shared" ? "-s" : "-x", "--", file, "cat"], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { PATH: DEFAULT_PATH, LC_ALL: "C" },
    });
    child.stdin.write("locked\n");
    let stderr = "";
    let held = false;
    const exited = new Promise<void>((done) => child.once("close", () => done()));
    const onAbort = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.stdin.on("error", () => undefined);
    child.once("error", (err) => {
      signal?.removeEventListener("abort", onAbort);
      reject(new Error(`could not take the lock ${file}: ${err.message}`));
    });
    child.stdout.on("data", (b: Buffer) => {
      if (held || !b.toString().includes("locked")) return;
      held = true;
      signal?.removeEventListener("abort", onAbort);
      let released: Promise<void> | null = null;
      resolve(() => (released ??= (child.stdin.end(), exited)));
    });
    child.once("close", (code) => {
      if (held) return;
      signal?.removeEventListener("abort", onAbort);
      reject(new Error(signal?.aborted ? "stopped while waiting for a lock" : `could not take the lock ${file}: ${stderr.trim() || `exit code ${code}`}`));
    });
  });
}
