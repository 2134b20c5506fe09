/**
 * `pipelines runners` — every runner the server knows: remote runners (each runner token) and the runners inside
 * web processes, with their labels, version, slots, when each was last seen and the jobs each runs now.
 * Exit status: 0, or 2 for a usage mistake.
 */
import { wantsHelp } from "./cli-help";
import { loadConfig } from "../config/load-config";
import { openStorage } from "../db/open-storage";
import { createLogger } from "../log/logger";
import { listRunnerStatus, type RunnerStatus } from "../runner/runner-registry";
import type { Io } from "./permissions";

export const USAGE = `usage: pipelines runners   runners with their labels, version, slots, last heartbeat and current jobs`;

/** One line per runner (a header first), columns padded. */
export function runnerTable(runners: readonly RunnerStatus[], now = new Date()): string[] {
  const rows = runners.map((r) => [
    r.name,
    r.kind,
    r.labels.length ? r.labels.join(",") : "(not announced)",
    r.version ?? "-",
    r.slots === null ? "-" : String(r.slots),
    r.lastSeenAt ? `${r.lastSeenAt.toISOString()} (${ago(now.getTime() - r.lastSeenAt.getTime())}${r.connected ? "" : ", not connected"})` : "never",
    r.jobs.length ? r.jobs.map((j) => `job ${j.jobId} (build ${j.buildId})`).join(", ") : "-",
  ]);
  const head = ["Name", "Kind", "Labels", "Version", "Slots", "Last heartbeat", "Current jobs"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const fmt = (row: string[]) => row.map((v, c) => v.padEnd(widths[c])).join("  ").trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export async function main(argv: string[], io: Io, env: Record<string, string | undefined> = process.env): Promise<number> {
  if (wantsHelp(argv)) {
    io.out(USAGE);
    return 0;
  }
  if (argv.length > 0) {
    io.err(`pipelines runners: no arguments expected (got ${argv.join(" ")})`);
    io.err(USAGE);
    return 2;
  }
  const storage = await openStorage(loadConfig(env), createLogger({ cli: "runners" }));
  try {
    const runners = await listRunnerStatus(storage.models);
    if (runners.length === 0) {
      io.out("no runners; create one with: pipelines runner-token create --name <name> (npm start runs one in its web process)");
      return 0;
    }
    for (const line of runnerTable(runners)) io.out(line);
    return 0;
  } finally {
    await storage.close();
  }
}
