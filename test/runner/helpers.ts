import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readProcStat } from "../../src/runner/proc-stat";

/** A directory removed after the current test file. */
export function makeTempDir(prefix: string, cleanups: Array<() => void>): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Collects a step's output as one string. */
export function collectOutput(): { write(s: string): void; text(): string } {
  let text = "";
  return { write: (s) => void (text += s), text: () => text };
}

/**
 * Whether `pid` is gone: `process.kill(pid, 0)` fails with ESRCH — or the process is a zombie, i.e. dead and only
 * waiting for its parent (PID 1 here, which reaps lazily) to collect its exit status.
 */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
  return readProcStat(pid)?.state === "Z";
}

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
