import { readdirSync, readFileSync } from "node:fs";

/** The fields of `/proc/<pid>/stat` the runner needs (Linux only). */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie: dead, waiting to be reaped), T… */
  state: string;
  pgrp: number;
  session: number;
  /** Clock ticks after boot at which the process started: with the boot id, it tells a recycled pid apart. */
  startTime: number;
}

/** Reads `/proc/<pid>/stat`; null when the process does not exist (or there is no /proc). */
export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // "pid (comm) state ppid pgrp session tty tpgid flags … starttime(22nd)": comm may contain spaces and ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return {
    pid,
    state: fields[0],
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
    startTime: Number(fields[19]),
  };
}

/** Every process visible in /proc (empty when there is no /proc). */
export function listProcStats(): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

let procFs: boolean | undefined;
/** Whether /proc/<pid>/stat can be read here (Linux). */
export function hasProcFs(): boolean {
  procFs ??= readProcStat(process.pid) !== null;
  return procFs;
}

/** A new value at every boot (Linux), so pid files from before a reboot are recognised; null elsewhere. */
export function readBootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return null;
  }
}
