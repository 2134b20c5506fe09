import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { atMost, fmt, type Benchmark } from "../lib/benchmark";
import { postgresSchema } from "../lib/postgres";
import { benchServiceEnv } from "../lib/service-env";
import { startEngine, type Engine } from "../../src/builds/engine";
import { loadConfig } from "../../src/config/load-config";
import { openStorage, type Storage } from "../../src/db/open-storage";
import type { Models } from "../../src/db/models";
import { createLogger } from "../../src/log/logger";
import type { Plan } from "../../src/pipelines";
import { runnerLabels } from "../../src/queue/job-labels";

/**
 * claim: how long one claim takes with 10,000 queued jobs over 100 tenants on Postgres — the runner API's own
 * function (`JobService.claim`, what POST /runner/claim calls: the atomic `FOR UPDATE SKIP LOCKED` statement, then
 * the build, its owners and variables, the build marked RUNNING, the JobSpec). Rows are seeded in bulk through the
 * models (then ANALYZE, as autovacuum would after such a change); a quarter of the jobs ask for labels (`runs-on`),
 * a few of them for one no claimer has.
 *
 * Claimers: 4 at once (4 runner processes), each holding at most 4 jobs (its slots) and finishing its oldest when
 * it takes a fifth, so the queue stays near 10,000 deep and the per-tenant limit is in play. Also measured: one
 * claimer alone on the same queue. Baseline in the same run: one claimer on a queue of one job (each job finished
 * and another queued between claims, untimed).
 */

const TENANTS = Number(process.env.BENCH_CLAIM_TENANTS ?? 100);
const JOBS = Number(process.env.BENCH_CLAIM_JOBS ?? 10_000);
const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 2000);
const WARMUP = 100;
const CLAIMERS = 4;
const SLOTS = 4;
const TARGET_P99_MS = 25;
const LABELS = runnerLabels(["gpu"], "linux");

const PLAN: Plan = {
  cloneDepth: 50,
  cloneEnabled: false,
  maxTimeMinutes: 120,
  caches: {},
  stages: [],
  steps: [],
  warnings: [],
};

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

interface Seeded {
  tenants: number[];
  applications: number[];
  nextNumber: Map<number, number>;
}

/** Tenants, one application each, and `jobs` queued builds dealt round-robin over the tenants: bulk inserts. */
async function seed(models: Models, tenants: number, jobs: number, tag: string): Promise<Seeded> {
  const t = await models.Tenant.bulkCreate(Array.from({ length: tenants }, (_, i) => ({ kind: "cloud-connect" as const, clientKey: `bench-${tag}-${i}`, status: "active" as const, baseUrl: "http://127.0.0.1:9" })));
  const a = await models.Application.bulkCreate(t.map((tenant, i) => ({ tenantId: tenant.id, repository: `ws${i}/repo`, autoBuild: true, autoCancel: false })));
  const seeded: Seeded = { tenants: t.map((x) => x.id), applications: a.map((x) => x.id), nextNumber: new Map() };
  await queueBuilds(models, seeded, jobs);
  return seeded;
}

async function queueBuilds(models: Models, s: Seeded, count: number): Promise<void> {
  const plan = JSON.stringify(PLAN);
  for (let first = 0; first < count; first += 1000) {
    const rows = Array.from({ length: Math.min(1000, count - first) }, (_, k) => {
      const i = (first + k) % s.tenants.length;
      const number = (s.nextNumber.get(i) ?? 0) + 1;
      s.nextNumber.set(i, number);
      return {
        tenantId: s.tenants[i], applicationId: s.applications[i], number, buildKey: randomBytes(12).toString("hex"), trigger: "push" as const,
        refType: "branch" as const, refName: "main", commit: "a".repeat(40), pipelineName: "default", pipelineKey: "default", state: "QUEUED" as const, plan,
      };
    });
    const builds = await models.Build.bulkCreate(rows);
    // A quarter ask for labels: most for ones the claimers have, one in 50 for one nobody has (they stay queued).
    const runsOn = (n: number) => (n % 50 === 7 ? JSON.stringify(["self.hosted", "windows"]) : n % 4 === 0 ? JSON.stringify(["gpu", "self.hosted"]) : null);
    await models.Job.bulkCreate(builds.map((b, k) => ({ tenantId: b.tenantId, buildId: b.id, startStep: 0, state: "queued" as const, runsOn: runsOn(first + k) })));
  }
}

/** A runner finishing a job: the job done, its build SUCCESSFUL (untimed). */
async function finish(models: Models, jobId: number, buildId: number): Promise<void> {
  await models.Job.update({ state: "done", leaseToken: null }, { where: { id: jobId } });
  await models.Build.update({ state: "SUCCESSFUL", finishedAt: new Date() }, { where: { id: buildId } });
}

/** `claimers` loops claiming `claims` jobs in all (after `warmup`), each holding at most SLOTS: each claim's time in ms. */
async function measureClaims(engine: Engine, models: Models, claimers: number, claims: number, warmup: number, refill?: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  let started = 0;
  const loop = async (c: number) => {
    const held: Array<{ jobId: number; buildId: number }> = [];
    while (started < warmup + claims) {
      const n = started++;
      const t0 = performance.now();
      const spec = await engine.jobs.claim(`bench-${c}`, LABELS);
      const ms = performance.now() - t0;
      if (!spec) throw new Error(`claim ${n} found no job`);
      if (n >= warmup) times.push(ms);
      held.push({ jobId: spec.jobId, buildId: spec.build.id });
      if (held.length >= SLOTS || refill) {
        const oldest = held.shift();
        if (oldest) await finish(models, oldest.jobId, oldest.buildId);
      }
      if (refill) await refill();
    }
    for (const h of held) await finish(models, h.jobId, h.buildId);
  };
  await Promise.all(Array.from({ length: claimers }, (_, c) => loop(c)));
  return times;
}

async function withEngine<T>(tag: string, use: (engine: Engine, storage: Storage) => Promise<T>): Promise<T> {
  const pg = postgresSchema(`bench_claim_${tag}`);
  const { env, dataDir } = benchServiceEnv("bench-claim", { DATABASE_URL: pg.url, PIPELINES_IN_PROCESS_RUNNER: "false", LOG_LEVEL: "error" });
  const config = loadConfig(env);
  const log = createLogger({ bench: "claim" });
  const storage = await openStorage(config, log);
  // The engine's loops look rarely: nothing but the claims should run.
  const engine = await startEngine(config, storage.models, log, { pollMs: 60_000 });
  try {
    return await use(engine, storage);
  } finally {
    await engine.stop();
    await storage.close();
    await pg.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export const claim: Benchmark = {
  name: "claim",
  title: `one claim (JobService.claim, as POST /runner/claim) with ${JOBS.toLocaleString("en-US")} queued jobs over ${TENANTS} tenants on Postgres vs a queue of one job`,
  async run() {
    const logLevel = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = "error";
    try {
      const baseline = await withEngine("base", async (engine, storage) => {
        const s = await seed(storage.models, 1, 1, "base");
        await storage.models.sequelize.query("ANALYZE jobs");
        return measureClaims(engine, storage.models, 1, Math.min(CLAIMS, 500), 50, () => queueBuilds(storage.models, s, 1));
      });
      const { alone, together, seconds } = await withEngine("deep", async (engine, storage) => {
        const t0 = Date.now();
        await seed(storage.models, TENANTS, JOBS + WARMUP * 2 + CLAIMS + 500, "deep");
        // What autovacuum does to a table that changed this much: the planner then walks the queue in id order.
        await storage.models.sequelize.query("ANALYZE jobs");
        const seconds = (Date.now() - t0) / 1000;
        const alone = await measureClaims(engine, storage.models, 1, 500, WARMUP);
        const together = await measureClaims(engine, storage.models, CLAIMERS, CLAIMS, WARMUP);
        return { alone, together, seconds };
      });
      const base99 = percentile(baseline, 99);
      const p99 = percentile(together, 99);
      return {
        figures: [
          { label: `seeding ${JOBS.toLocaleString("en-US")}+ queued jobs (bulk, through the models)`, value: `${seconds.toFixed(1)} s` },
          { label: "baseline: 1 claimer, queue of 1 job — median / p99", value: `${fmt.ms(percentile(baseline, 50))} / ${fmt.ms(base99)}` },
          { label: `1 claimer, ${JOBS.toLocaleString("en-US")} queued — median / p99`, value: `${fmt.ms(percentile(alone, 50))} / ${fmt.ms(percentile(alone, 99))}` },
          { label: `${CLAIMERS} claimers × ${SLOTS} slots, ${JOBS.toLocaleString("en-US")} queued — median / p99 (${together.length} claims)`, value: `${fmt.ms(percentile(together, 50))} / ${fmt.ms(p99)}` },
          { label: "p99 / baseline p99", value: fmt.ratio(p99 / Math.max(0.001, base99)) },
        ],
        checks: [
          atMost(`claim p99, one claimer (${JOBS.toLocaleString("en-US")} queued over ${TENANTS} tenants)`, percentile(alone, 99), TARGET_P99_MS, fmt.ms),
          atMost(`claim p99, ${CLAIMERS} claimers at once (each waits for the others' claims: they are serialised)`, p99, TARGET_P99_MS, fmt.ms),
        ],
      };
    } finally {
      if (logLevel === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = logLevel;
    }
  },
};
