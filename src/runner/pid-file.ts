import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { readBootId, readProcStat } from "./proc-stat";

/**
 * What a runner records about a running step's process group, so that after a crash the next start can kill it
 * (see `killLeftoverGroups`) without risking a pid that was recycled: the pid is only trusted while the boot id
 * and the process start time still match.
 */
export interface PidRecord {
  pid: number;
  /** `/proc/<pid>/stat` start time in clock ticks after boot; null where there is no /proc. */
  startTime: number | null;
  bootId: string | null;
}

/**
 * Writes the record for `pid` atomically (temp file + rename). Synchronous on purpose: called right after the
 * spawn, it leaves no moment in which a crash would leave a running group without its record.
 */
export function writePidFile(file: string, pid: number): void {
  const record: PidRecord = { pid, startTime: readProcStat(pid)?.startTime ?? null, bootId: readBootId() };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(record) + "\n", { mode: 0o600 });
  renameSync(temp, file);
}

/** The record in `file`, or null if it is missing or not a pid record. */
export async function readPidFile(file: string): Promise<PidRecord | null> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch {
    return null;
  }
  const r = value as Partial<PidRecord> | null;
  if (!r || !Number.isInteger(r.pid) || (r.pid as number) <= 1) return null;
  return {
    pid: r.pid as number,
    startTime: typeof r.startTime === "number" ? r.startTime : null,
    bootId: typeof r.bootId === "string" ? r.bootId : null,
  };
}

export async function removePidFile(file: string): Promise<void> {
  await rm(file, { force: true });
}
