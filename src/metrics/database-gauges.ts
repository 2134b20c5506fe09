import { Op } from "sequelize";
import type { Models } from "../db/models";
import { RUNNER_RECENT_MS } from "../runner/runner-registry";
import { DEFAULT_LABEL, labelKey, planLabelKeys, storedLabels } from "./job-labels";

/** Queued jobs looked at per scrape; beyond that the queue is counted, but not split by label. */
const QUEUE_SAMPLE = 10_000;
/** Builds whose step labels are remembered between scrapes (a build's plan never changes). */
const PLAN_CACHE = 5_000;

/** What the database says now: the same whichever web process is asked. */
export interface DatabaseSnapshot {
  /** Deliveries stored and not yet processed. */
  processorBacklog: number;
  buildsByState: Record<string, number>;
  /** Queued jobs and the age of the oldest, per runner label key. */
  queue: Record<string, { depth: number; oldestSeconds: number }>;
  outboxPending: number;
  /** Pending statuses that failed at least once and wait for a retry. */
  outboxRetrying: number;
  /** Statuses given up on (final refusal, or retries exhausted). */
  outboxFailed: number;
  /** Runners seen recently (as the runners' listing counts them connected), by kind: remote, in-process. */
  runnersConnected: Record<string, number>;
}

/** Reads the snapshot with a handful of indexed counts; step labels of queued jobs come from their build's plan. */
export class DatabaseGauges {
  private readonly planLabels = new Map<number, string[]>();

  constructor(private readonly models: Models) {}

  async read(now = new Date()): Promise<DatabaseSnapshot> {
    const { models } = this;
    const [processorBacklog, builds, outboxPending, outboxRetrying, outboxFailed, runners, queue] = await Promise.all([
      models.Delivery.count({ where: { status: "pending" } }),
      models.Build.count({ group: ["state"] }) as unknown as Promise<Array<{ state: string; count: number | string }>>,
      models.StatusOutbox.count({ where: { status: "pending" } }),
      models.StatusOutbox.count({ where: { status: "pending", attempts: { [Op.gt]: 0 } } }),
      models.StatusOutbox.count({ where: { status: "failed" } }),
      models.Runner.count({ where: { lastSeenAt: { [Op.gte]: new Date(now.getTime() - RUNNER_RECENT_MS) } }, group: ["kind"] }) as unknown as Promise<Array<{ kind: string; count: number | string }>>,
      this.queue(now),
    ]);
    const buildsByState: Record<string, number> = {};
    for (const row of builds) buildsByState[row.state] = Number(row.count);
    const runnersConnected: Record<string, number> = {};
    for (const row of runners) runnersConnected[row.kind] = Number(row.count);
    return { processorBacklog, buildsByState, queue, outboxPending, outboxRetrying, outboxFailed, runnersConnected };
  }

  private async queue(now: Date): Promise<DatabaseSnapshot["queue"]> {
    const { Job, Build } = this.models;
    // The labels a job waits for: its `runs_on` (a JSON list, null for none) where the jobs table has it, else its
    // first step's `runs-on` read from the build's plan.
    const attributes = Job.getAttributes() as Record<string, unknown>;
    const column = "runsOn" in attributes ? "runsOn" : "labels" in attributes ? "labels" : null;
    const [total, jobs] = await Promise.all([
      Job.count({ where: { state: "queued" } }),
      Job.findAll({ where: { state: "queued" }, attributes: ["buildId", "startStep", "createdAt", ...(column ? [column] : [])], order: [["id", "ASC"]], limit: QUEUE_SAMPLE, raw: true }) as unknown as Promise<
        Array<{ buildId: number; startStep: number; createdAt: Date | string; runsOn?: unknown; labels?: unknown }>
      >,
    ]);
    const stored = (job: (typeof jobs)[number]) => (column ? (storedLabels(column === "runsOn" ? job.runsOn : job.labels) ?? []) : undefined);
    const unknownPlans = column ? [] : [...new Set(jobs.filter((j) => !this.planLabels.has(j.buildId)).map((j) => j.buildId))];
    for (let i = 0; i < unknownPlans.length; i += 500) {
      const rows = await Build.findAll({ where: { id: unknownPlans.slice(i, i + 500) }, attributes: ["id", "plan"], raw: true });
      if (this.planLabels.size + rows.length > PLAN_CACHE) this.planLabels.clear();
      for (const row of rows) this.planLabels.set(row.id, planLabelKeys(row.plan));
    }
    const out: DatabaseSnapshot["queue"] = {};
    for (const job of jobs) {
      const labels = stored(job);
      const key = labels ? labelKey(labels) : (this.planLabels.get(job.buildId)?.[job.startStep] ?? DEFAULT_LABEL);
      const age = Math.max(0, (now.getTime() - new Date(job.createdAt).getTime()) / 1000);
      const entry = (out[key] ??= { depth: 0, oldestSeconds: 0 });
      entry.depth++;
      entry.oldestSeconds = Math.max(entry.oldestSeconds, age);
    }
    // Beyond the sample the jobs are newer than every one looked at: counted without a label.
    if (total > jobs.length) (out["(not sampled)"] ??= { depth: 0, oldestSeconds: 0 }).depth += total - jobs.length;
    return out;
  }
}
