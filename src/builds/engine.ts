import os from "node:os";
import path from "node:path";
import type { Config } from "../config/load-config";
import type { Models } from "../db/models";
import { forgeRegistry } from "../forges/forge-for";
import { Processor } from "../intake/processor";
import type { Logger } from "../log/logger";
import { OidcIssuer } from "../oidc/oidc-issuer";
import { PipelineFileChecker } from "../pipelines/worker/file-checker";
import { startRunner, type RunningRunner } from "../runner/runner-loop";
import { backgroundLoop, type BackgroundLoop } from "./background-loop";
import type { EngineContext } from "./engine-context";
import { DEFAULT_LEASE_MS, JobService } from "./job-service";
import { reapExpiredJobs } from "./reap-jobs";
import { settleUnrunnableJobs } from "./unrunnable-jobs";
import { runnerLabels } from "../queue/job-labels";
import { registerInProcessRunner, RUNNER_RECENT_MS, touchRunner, unregisterRunner } from "../runner/runner-registry";
import { LAST_SEEN_RESOLUTION_MS } from "../runner/runner-tokens";
import { RUNNER_VERSION } from "../runner/runner-version";
import { nextStatusDue, postDueStatuses } from "./status-poster";
import { StepSignals } from "./step-signals";
import { deploymentGate } from "../deployments/deployment-gate";
import { fireDueSchedules } from "../schedules/fire-schedules";
import { FsBlobStore } from "../storage/fs-blob-store";
import { ServerArtifacts } from "./server-artifacts";

/** How often each web process looks for expired artifacts and caches. */
const EXPIRY_EVERY_MS = 10 * 60_000;
import type { ServiceMetrics } from "../metrics/service-metrics";

/** Deliveries stored per quarter second; "busy" above 50 (200 a second). */
function intakeBurst(): { stored(): void; busy(): boolean } {
  let window = 0;
  let count = 0;
  let previous = 0;
  const roll = () => {
    const now = Math.floor(Date.now() / 250);
    if (now !== window) {
      previous = now === window + 1 ? count : 0;
      window = now;
      count = 0;
    }
  };
  return {
    stored() {
      roll();
      count++;
    },
    busy() {
      roll();
      return Math.max(count, previous) > 50;
    },
  };
}

export interface Engine {
  ctx: EngineContext;
  jobs: JobService;
  /** Wakes followers of a step (live logs) when the runners of this process report on it. */
  stepSignals: StepSignals;
  /** A delivery was stored: process it now. */
  deliveryStored(): void;
  stop(): Promise<void>;
}

export interface EngineOptions {
  leaseMs?: number;
  /** Grace between SIGTERM and SIGKILL when a step is stopped. */
  graceMs?: number;
  /** How often idle loops look for work another process may have made (Postgres with several web processes). */
  pollMs?: number;
  /** The clock the OIDC issuer signs and rotates keys by (tests move it forward). */
  now?: () => Date;
  /** Where step durations and queue waits are recorded (none: not recorded). */
  metrics?: ServiceMetrics;
}

/**
 * The build engine inside a web process: the processor (inbox → builds), the status poster (outbox → Bitbucket),
 * the reaper (expired leases), and — when configured — one in-process runner that talks to the job service
 * through the same protocol a remote runner uses over HTTP.
 */
export async function startEngine(config: Config, models: Models, log: Logger, opts: EngineOptions = {}): Promise<Engine> {
  const pollMs = opts.pollMs ?? 1000;
  const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  const loops: BackgroundLoop[] = [];
  let runner: RunningRunner | null = null;
  const stepSignals = new StepSignals();
  const { timeBudgetMs, workers, ...limits } = config.pipelineFile;
  const pipelineFiles = new PipelineFileChecker({ limits, timeBudgetMs, workers });
  const ctx: EngineContext = {
    models,
    forgeFor: forgeRegistry(models, config),
    log,
    concurrencyPerTenant: config.concurrencyPerTenant,
    logCapBytes: config.logCapBytes,
    artifacts: new ServerArtifacts(models, await new FsBlobStore(config.storage.dir).open(), config.storage),
    oidc: new OidcIssuer({ models, baseUrl: config.baseUrl, now: opts.now }),
    pipelineFiles,
    notify: {
      jobQueued: () => runner?.wake(),
      statusQueued: () => poster.wake(),
      stepChanged: (buildId, index) => stepSignals.notify(buildId, index),
      stepFinished: (buildId, index, state) => {
        const metrics = opts.metrics;
        if (!metrics) return;
        models.Step.findOne({ where: { buildId, index }, attributes: ["startedAt", "finishedAt"] }).then(
          (step) => step && metrics.stepFinished(state, step.startedAt, step.finishedAt),
          (err: unknown) => log.debug("step duration not recorded", { build: buildId, step: index, error: (err as Error).message }),
        );
      },
      jobClaimed: (runsOn, queuedAt) => opts.metrics?.jobClaimed(runsOn, queuedAt),
    },
  };
  // Deployment environments and concurrency groups decide when steps that name them may start.
  ctx.gate = deploymentGate(ctx);
  const jobs = new JobService(ctx, leaseMs);
  const processor = new Processor(ctx);

  const poster = backgroundLoop("status poster", log, pollMs, async (stopping) => {
    while (!stopping() && (await postDueStatuses(ctx)) > 0);
    const due = await nextStatusDue(ctx);
    return due ? due.getTime() - Date.now() : undefined;
  });
  // Under a burst of webhooks the intake comes first (Bitbucket gives up after 10 s): the processor then takes small
  // batches and rests four times as long as each took (at most a fifth of the time, which it shares with the intake's
  // CPU and database), and catches up at full speed once the burst is over.
  const burst = intakeBurst();
  const intake = backgroundLoop("processor", log, pollMs, async (stopping) => {
    for (;;) {
      if (stopping()) break;
      const busy = burst.busy();
      const started = Date.now();
      if ((await processor.processPending(busy ? 10 : 50)) === 0) break;
      if (busy) await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(50, 4 * (Date.now() - started)))));
    }
    const retry = processor.nextRetryAt();
    return retry ? retry - Date.now() : undefined;
  });
  let inProcessRunner: { id: number; seenAt: number } | null = null;
  const engineStarted = Date.now();
  const reaper = backgroundLoop("lease reaper", log, Math.min(pollMs * 5, Math.max(250, leaseMs / 2)), async () => {
    await reapExpiredJobs(ctx);
    // The in-process runner is alive as long as its web process is: it is seen at each tick (at most every 30 s).
    if (inProcessRunner && Date.now() - inProcessRunner.seenAt >= LAST_SEEN_RESOLUTION_MS) {
      inProcessRunner.seenAt = Date.now();
      await touchRunner(models, inProcessRunner.id);
    }
    // Jobs whose runs-on labels no connected runner has: the build says so, and fails after the queue timeout.
    // After a restart the runners need a moment to be seen again: nothing fails for want of one before that.
    await settleUnrunnableJobs(ctx, config.queueTimeoutMs, new Date(), engineStarted + Math.min(RUNNER_RECENT_MS, config.queueTimeoutMs));
    // Environments still held by builds that ended while a process was stopped go to the next in line.
    await ctx.gate?.sweep();
  });
  // Scheduled pipelines: every web process looks; one conditional UPDATE per tick decides which one fires it.
  const schedules = backgroundLoop("schedules", log, pollMs, async (stopping) => {
    if (stopping()) return;
    const next = await fireDueSchedules(ctx);
    return next ? next.getTime() - Date.now() : undefined;
  });
  // Expired artifacts and caches: every web process looks; each row is removed by the one whose DELETE removed it.
  const expiry = backgroundLoop("artifact expiry", log, EXPIRY_EVERY_MS, async () => {
    const removed = await ctx.artifacts.expire();
    if (removed.artifacts || removed.caches) log.info("expired artifacts and caches removed", removed);
  });
  loops.push(poster, intake, reaper, schedules, expiry);

  if (config.inProcessRunner) {
    const name = `in-process@${os.hostname()}:${process.pid}`;
    // Listed with the remote runners (`pipelines runners`), and counted as connected for the jobs its labels allow.
    const row = await registerInProcessRunner(models, name, { labels: runnerLabels(config.runnerLabels), version: RUNNER_VERSION, slots: config.runnerSlots }, os.hostname());
    inProcessRunner = { id: row.id, seenAt: Date.now() };
    runner = await startRunner({
      api: jobs,
      name,
      labels: config.runnerLabels,
      workDir: path.join(config.dataDir, "runner", "work"),
      stateDir: path.join(config.dataDir, "runner", "state"),
      log,
      pollMs,
      graceMs: opts.graceMs,
      slots: config.runnerSlots,
      executor: config.executor,
      inProcess: true,
    });
  }

  return {
    ctx,
    jobs,
    stepSignals,
    deliveryStored: () => {
      burst.stored();
      intake.wake();
    },
    async stop() {
      await runner?.stop();
      await Promise.all(loops.map((l) => l.stop()));
      if (inProcessRunner) await unregisterRunner(models, inProcessRunner.id).catch((err: Error) => log.warn("cannot remove the in-process runner from the runners", { error: err.message }));
      await pipelineFiles.close();
    },
  };
}
