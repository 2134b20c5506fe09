import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Models } from "../db/models";
import { DatabaseGauges } from "./database-gauges";
import { labelKey } from "./job-labels";

/** The four doors of Bitbucket a delivery comes through. */
export type DeliveryKind = "connect" | "oauth" | "server" | "forge";
/** received: a new delivery stored (202); duplicate: one already stored (200); refused: 4xx; unavailable: 5xx. */
export type DeliveryOutcome = "received" | "duplicate" | "refused" | "unavailable";

/**
 * The service's Prometheus metrics, on a registry of its own (several services in one process — the tests — never
 * share one).
 *
 * Two kinds, on purpose: counters and histograms (`*_total`, `*_seconds`) count what *this process* saw — deliveries
 * it answered, steps whose end it recorded, jobs its runner API handed out — and Prometheus sums them over the
 * processes it scrapes; gauges of what is in the database (backlog, builds by state, queue, outbox, runners) are read
 * from the database at scrape time, so every web process gives the same, correct figure.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly deliveries: Counter<"kind" | "outcome">;
  private readonly stepDuration: Histogram<"state">;
  private readonly queueWait: Histogram<"label">;
  private readonly gauges: DatabaseGauges;
  private reading: Promise<void> | null = null;
  private defaults = false;

  private readonly processorBacklog: Gauge;
  private readonly builds: Gauge<"state">;
  private readonly queueDepth: Gauge<"label">;
  private readonly queueOldest: Gauge<"label">;
  private readonly outboxBacklog: Gauge;
  private readonly outboxRetrying: Gauge;
  private readonly outboxFailed: Gauge;
  private readonly runners: Gauge<"kind">;

  constructor(models: Models) {
    const registers = [this.registry];
    this.gauges = new DatabaseGauges(models);
    this.deliveries = new Counter({
      name: "pipelines_deliveries_total",
      help: "Webhook deliveries this process answered, by kind of Bitbucket and outcome (received = stored new, duplicate, refused = 4xx, unavailable = 5xx)",
      labelNames: ["kind", "outcome"],
      registers,
    });
    for (const kind of ["connect", "oauth", "server", "forge"] as const) for (const outcome of ["received", "duplicate", "refused", "unavailable"] as const) this.deliveries.inc({ kind, outcome }, 0);
    this.stepDuration = new Histogram({
      name: "pipelines_step_duration_seconds",
      help: "Time from a step's start to its end, for the steps whose end this process recorded, by final state",
      labelNames: ["state"],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600, 7200],
      registers,
    });
    this.queueWait = new Histogram({
      name: "pipelines_queue_wait_seconds",
      help: "Time a job waited in the queue before a runner claimed it through this process, by runner labels (runs-on; default for none)",
      labelNames: ["label"],
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600, 9000],
      registers,
    });
    this.processorBacklog = new Gauge({ name: "pipelines_processor_backlog", help: "Deliveries stored and not yet processed (database)", registers });
    this.builds = new Gauge({ name: "pipelines_builds", help: "Builds by state (database)", labelNames: ["state"], registers });
    this.queueDepth = new Gauge({ name: "pipelines_queue_depth", help: "Jobs waiting for a runner, by runner labels (database)", labelNames: ["label"], registers });
    this.queueOldest = new Gauge({ name: "pipelines_queue_oldest_wait_seconds", help: "How long the oldest queued job has waited, by runner labels (database)", labelNames: ["label"], registers });
    this.outboxBacklog = new Gauge({ name: "pipelines_status_outbox_backlog", help: "Commit statuses waiting to be posted to Bitbucket (database)", registers });
    this.outboxRetrying = new Gauge({ name: "pipelines_status_outbox_retrying", help: "Commit statuses waiting after at least one failed post (database)", registers });
    this.outboxFailed = new Gauge({ name: "pipelines_status_outbox_failed", help: "Commit statuses given up on (database)", registers });
    this.runners = new Gauge({ name: "pipelines_runners_connected", help: "Runners seen in the last two minutes, by kind: remote, in-process (database)", labelNames: ["kind"], registers });
  }

  delivery(kind: DeliveryKind, outcome: DeliveryOutcome): void {
    this.deliveries.inc({ kind, outcome });
  }

  stepFinished(state: string, startedAt: Date | null, finishedAt: Date | null): void {
    if (!startedAt || !finishedAt) return;
    this.stepDuration.observe({ state }, Math.max(0, (finishedAt.getTime() - startedAt.getTime()) / 1000));
  }

  jobClaimed(runsOn: readonly string[] | undefined, queuedAt: Date, now = new Date()): void {
    this.queueWait.observe({ label: labelKey(runsOn) }, Math.max(0, (now.getTime() - queuedAt.getTime()) / 1000));
  }

  /** The exposition text (Prometheus text format 0.0.4), the database gauges read now. */
  async render(): Promise<string> {
    if (!this.defaults) {
      collectDefaultMetrics({ register: this.registry, prefix: "pipelines_process_" });
      this.defaults = true;
    }
    // Scrapes that arrive together share one read of the database.
    await (this.reading ??= this.refresh().finally(() => (this.reading = null)));
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private async refresh(): Promise<void> {
    const s = await this.gauges.read();
    this.processorBacklog.set(s.processorBacklog);
    this.builds.reset();
    for (const state of ["QUEUED", "RUNNING", "PAUSED", "SUCCESSFUL", "FAILED", "STOPPED", "SKIPPED"]) this.builds.set({ state }, s.buildsByState[state] ?? 0);
    for (const [state, n] of Object.entries(s.buildsByState)) this.builds.set({ state }, n);
    this.queueDepth.reset();
    this.queueOldest.reset();
    this.queueDepth.set({ label: "default" }, 0);
    this.queueOldest.set({ label: "default" }, 0);
    for (const [label, q] of Object.entries(s.queue)) {
      this.queueDepth.set({ label }, q.depth);
      this.queueOldest.set({ label }, q.oldestSeconds);
    }
    this.outboxBacklog.set(s.outboxPending);
    this.outboxRetrying.set(s.outboxRetrying);
    this.outboxFailed.set(s.outboxFailed);
    this.runners.reset();
    for (const kind of ["remote", "in-process"]) this.runners.set({ kind }, s.runnersConnected[kind] ?? 0);
    for (const [kind, n] of Object.entries(s.runnersConnected)) this.runners.set({ kind }, n);
  }
}
