import { readdirSync, readFileSync } from "node:fs";

/**
 * Pids of the live processes on this machine whose command line contains `marker` (argv joined with spaces). A
 * sandboxed step cannot write anything the test could read, so tests find its processes from the outside by a
 * marker in their arguments (`sleep 61.37`).
 */
export function processesMatching(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ");
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${name}/status`, "utf8"))?.[1];
      if (cmd.includes(marker) && state !== "Z") out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The uid a process runs as (real uid), or null when it is gone. */
export function processUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
