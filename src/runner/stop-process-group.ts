import { hasProcFs, listProcStats, readProcStat } from "./proc-stat";

/**
 * Stops everything a step started: SIGTERM to the process group `pgid` (the step's shell was started with
 * `detached: true`, so it leads its own session and group and its pid is their id), then SIGKILL to whatever is
 * still alive after `graceMs`. Resolves true once nothing is left alive, false if something survived SIGKILL
 * (a process in uninterruptible sleep) within `killWaitMs`.
 *
 * On Linux the processes of the same *session* are signalled too, which catches jobs a script put in their own
 * group (`set -m`). A process that called `setsid` has left both and cannot be found this way; containing those
 * needs a cgroup or container, which this runner does not use.
 *
 * Zombies count as gone: they are dead and only wait for their parent (often PID 1) to reap them.
 */
export async function stopProcessGroup(pgid: number, graceMs: number, killWaitMs = 2000): Promise<boolean> {
  const own = readProcStat(process.pid);
  if (!(pgid > 1) || pgid === process.pid || pgid === own?.pgrp || pgid === own?.session) {
    throw new RangeError(`stopProcessGroup: refusing to signal process group ${pgid} (not a step's group)`);
  }
  if (!processGroupAlive(pgid)) return true;
  signalGroup(pgid, "SIGTERM");
  if (await waitUntilGone(pgid, graceMs)) return true;
  signalGroup(pgid, "SIGKILL");
  return waitUntilGone(pgid, killWaitMs);
}

/** Whether any live (non-zombie) process is in the group or session `pgid`. */
export function processGroupAlive(pgid: number): boolean {
  if (hasProcFs()) return members(pgid).length > 0;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function members(pgid: number): number[] {
  return listProcStats()
    .filter((p) => (p.pgrp === pgid || p.session === pgid) && p.state !== "Z")
    .map((p) => p.pid);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  ignoreMissing(() => process.kill(-pgid, signal));
  if (!hasProcFs()) return;
  for (const pid of members(pgid)) ignoreMissing(() => process.kill(pid, signal));
}

function ignoreMissing(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** Polls (10 ms, doubling up to 200 ms: each poll reads /proc) until the group is gone or `ms` have passed. */
async function waitUntilGone(pgid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
    if (!processGroupAlive(pgid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(1, deadline - Date.now()))));
  }
}
