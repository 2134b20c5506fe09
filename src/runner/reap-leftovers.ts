import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { readPidFile, removePidFile } from "./pid-file";
import { readBootId, readProcStat } from "./proc-stat";
import { processGroupAlive, stopProcessGroup } from "./stop-process-group";

export interface LeftoverReport {
  /** Process groups that were still running and have been stopped. */
  killed: number[];
  /** Pid files whose process is gone or whose pid now belongs to another process: only the file was removed. */
  stale: string[];
}

/**
 * Run once when a runner starts, before it claims work: every `*.pid` file in `stateDir` was left by a step of a
 * runner that died without cleaning up (`runStep` removes its pid file when the step ends). The process group
 * named in each is stopped (SIGTERM, then SIGKILL after `graceMs`) and the file removed.
 *
 * A pid is only trusted when the record proves it is still ours: same boot id, and either the group leader is
 * alive with the recorded start time, or the leader is gone but members of its group/session remain (the kernel
 * does not reuse a pid while it is still some process's group or session id). A recycled pid is left alone.
 * Without /proc (not Linux) nothing can be proven, so nothing is killed and the files stay for a human to see.
 */
export async function killLeftoverGroups(stateDir: string, graceMs = 10_000): Promise<LeftoverReport> {
  const report: LeftoverReport = { killed: [], stale: [] };
  let names: string[];
  try {
    names = await readdir(stateDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return report;
    throw error;
  }
  const bootId = readBootId();
  if (bootId === null) return report;

  await Promise.all(
    names
      .filter((name) => name.endsWith(".pid"))
      .map(async (name) => {
        const file = join(stateDir, name);
        const record = await readPidFile(file);
        if (record && record.bootId === bootId && isStillOurs(record.pid, record.startTime) && processGroupAlive(record.pid)) {
          await stopProcessGroup(record.pid, graceMs);
          report.killed.push(record.pid);
        } else {
          report.stale.push(file);
        }
        await removePidFile(file);
      }),
  );
  return report;
}

function isStillOurs(pid: number, startTime: number | null): boolean {
  const leader = readProcStat(pid);
  if (leader) return startTime !== null && leader.startTime === startTime;
  return true; // leader gone: signalling the group/session id can only reach what is left of ours
}
