import { createHash } from "node:crypto";
import { Op } from "sequelize";
import type { Models, Runner } from "../db/models";
import { normaliseLabels, parseRunsOn, RUNNER_LABEL } from "../queue/job-labels";
import type { RunnerInfo } from "./runner-protocol";


/** A runner seen within this long counts as connected: it may take the jobs its labels allow. */
export const RUNNER_RECENT_MS = 2 * 60_000;
/** At most this many labels per runner. */
export const MAX_RUNNER_LABELS = 32;

export class RunnerInfoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunnerInfoError";
  }
}

/** Checks labels given on a command line or in a request: each a RUNNER_LABEL, at most MAX_RUNNER_LABELS. */
export function checkLabels(labels: readonly string[]): string[] {
  const out = normaliseLabels(labels);
  const bad = out.find((l) => !RUNNER_LABEL.test(l));
  if (bad !== undefined) throw new RunnerInfoError(`"${bad}" is not a runner label: lower-case letters, digits and . _ -, at most 64, starting with a letter or digit`);
  if (out.length > MAX_RUNNER_LABELS) throw new RunnerInfoError(`at most ${MAX_RUNNER_LABELS} labels per runner`);
  return out;
}

/** Records what a runner announced (its labels, version, slots) on its row. */
export async function announceRunner(models: Models, runner: Runner, info: RunnerInfo): Promise<void> {
  await models.Runner.update({ labels: JSON.stringify(normaliseLabels(info.labels)), version: info.version.slice(0, 64), slots: info.slots, lastSeenAt: new Date() }, { where: { id: runner.id } });
}

/**
 * The runner inside a web process has no token; it is listed through a row of kind `in-process` (its token hash a
 * value no token hashes to, so nothing can authenticate as it), made when the engine starts its runner and deleted
 * when it stops. Rows of in-process runners of this host not seen for a while (a process killed) are removed then.
 */
export async function registerInProcessRunner(models: Models, name: string, info: RunnerInfo, host: string): Promise<Runner> {
  const stale = new Date(Date.now() - RUNNER_RECENT_MS);
  await models.Runner.destroy({ where: { kind: "in-process", name: { [Op.like]: `in-process@${host}:%` }, lastSeenAt: { [Op.lt]: stale } } });
  const tokenHash = `in-process:${createHash("sha256").update(name).digest("hex").slice(0, 40)}`;
  const fields = { kind: "in-process" as const, labels: JSON.stringify(normaliseLabels(info.labels)), version: info.version.slice(0, 64), slots: info.slots, lastSeenAt: new Date() };
  const existing = await models.Runner.findOne({ where: { tokenHash } });
  if (existing) return existing.update(fields);
  return models.Runner.create({ name: name.slice(0, 128), tokenHash, ...fields });
}

/** The runner was seen now (the in-process runner's heartbeat: its web process is alive). */
export async function touchRunner(models: Models, id: number): Promise<void> {
  await models.Runner.update({ lastSeenAt: new Date() }, { where: { id } });
}

export async function unregisterRunner(models: Models, id: number): Promise<void> {
  await models.Runner.destroy({ where: { id, kind: "in-process" } });
}

/** A runner as the listing shows it. */
export interface RunnerStatus {
  name: string;
  kind: "remote" | "in-process";
  labels: string[];
  version: string | null;
  slots: number | null;
  /** Its last request to the server (a claim, a heartbeat, a log…), to within 30 s. */
  lastSeenAt: Date | null;
  /** Whether it was seen within RUNNER_RECENT_MS. */
  connected: boolean;
  /** The jobs it holds a lease on now: job id, build id and the process that claimed it (`name/host` when it differs). */
  jobs: Array<{ jobId: number; buildId: number; owner: string }>;
}

/** Every registered runner with what it announced and the jobs it runs now, by name. */
export async function listRunnerStatus(models: Models, now = new Date()): Promise<RunnerStatus[]> {
  const [runners, leased] = await Promise.all([
    models.Runner.findAll({ order: [["name", "ASC"]] }),
    models.Job.findAll({ where: { state: "leased" }, attributes: ["id", "buildId", "leaseOwner"], order: [["id", "ASC"]] }),
  ]);
  return runners.map((r) => ({
    name: r.name,
    kind: r.kind,
    labels: parseRunsOn(r.labels),
    version: r.version,
    slots: r.slots,
    lastSeenAt: r.lastSeenAt,
    connected: r.lastSeenAt !== null && now.getTime() - r.lastSeenAt.getTime() <= RUNNER_RECENT_MS,
    jobs: leased
      .filter((j) => j.leaseOwner !== null && (j.leaseOwner === r.name || j.leaseOwner.startsWith(`${r.name}/`)))
      .map((j) => ({ jobId: j.id, buildId: j.buildId, owner: j.leaseOwner as string })),
  }));
}

/** The label sets of the runners seen recently: a job whose labels none of them has cannot be taken now. */
export async function connectedLabelSets(models: Models, now = new Date()): Promise<string[][]> {
  const runners = await models.Runner.findAll({ where: { lastSeenAt: { [Op.gte]: new Date(now.getTime() - RUNNER_RECENT_MS) } }, attributes: ["labels"] });
  return runners.map((r) => parseRunsOn(r.labels));
}
