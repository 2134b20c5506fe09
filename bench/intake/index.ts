import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { atLeast, atMost, fmt, type Benchmark, type Check, type Figure } from "../lib/benchmark";
import { countOf, describeStatuses, startLoadGenerator, type LoadSpec, type LoadSummary } from "../lib/load";
import { benchTenant, deliveryRequest, DELIVERY_FIXTURE, installTenant } from "./connect-delivery";
import { benchDatabaseKind, dropPostgresSchema, freshPostgresUrl, queryRows, type DatabaseKind } from "./database";
import { startServer, type ServerMode, type ServerReady } from "./servers";

/**
 * intake, restated (issue 13): POST /webhook of the real service (Connect JWT, inbox insert with group commit, 202)
 * under 50 connections, against a minimal durable receiver written here (express.json(), the same HS256 check with
 * a cached key, the raw body appended to the same kind of database with group commit, 202) — same body, headers,
 * load and process arrangement. The bare express.json() → 204 figure is printed for reference. Each side runs in its
 * own process and autocannon in another. The service is the whole service as `start()` makes it: its build engine
 * (processor, poster, reaper, in-process runner) runs beside the intake, as in production. After the burst, how fast
 * the processor empties the inbox is measured too.
 */

const CONNECTIONS = 50;
/** The measured run is sized (in requests) from the warm-up's rate to last about this long. */
const DURATION_SECONDS = Number(process.env.BENCH_INTAKE_SECONDS ?? 6);
/**
 * Durable baseline and service are measured in alternation, this many times each (a fresh process every time): on a
 * shared machine the load of others comes and goes, and alternating spreads it over both sides.
 */
const ROUNDS = Number(process.env.BENCH_INTAKE_ROUNDS ?? 2);
/** Warm-up: this many requests (the JIT warms per request, not per second), then about 2 s to learn the rate. */
const WARMUP_REQUESTS = 3000;
const CALIBRATION_SECONDS = 2;
const RATIO_TARGET = 0.8;
const P99_TARGET_MS = 50;
/** How long the bench watches the processor settle the backlog after the burst (the rate is what is printed). */
const SETTLE_WATCH_MS = 25_000;

interface Side {
  warmups: LoadSummary[];
  measured: LoadSummary;
  /** CPU time (all threads) the server process used per response of the measured run, in ms; null without /proc. */
  cpuMsPerRequest: number | null;
  /** Rows written (service: deliveries by status; durable: rows received) once the server has stopped. */
  rows?: Rows;
  /** Service only: deliveries by status when the load ended (the service still running). */
  rowsAtEnd?: Rows;
  /** Service only: how the processor settled the backlog left when the load ended. */
  settle?: { backlog: number; seconds: number; settled: boolean; remaining: number };
  stopSeconds: number;
}

interface Rows {
  rows: number;
  distinctIds: number;
  byStatus: Record<string, number>;
}

async function countRows(mode: ServerMode, ready: ServerReady): Promise<Rows> {
  if (!ready.database) throw new Error(`the ${mode} server did not report its database`);
  const table = mode === "service" ? "deliveries" : "received";
  const [row] = await queryRows<{ rows: number | string; distinct_ids: number | string }>(ready.database, `SELECT COUNT(*) AS rows, COUNT(DISTINCT delivery_id) AS distinct_ids FROM ${table}`);
  const statuses = mode === "service" ? await queryRows<{ status: string; n: number | string }>(ready.database, "SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status ORDER BY status") : [];
  return { rows: Number(row?.rows ?? 0), distinctIds: Number(row?.distinct_ids ?? 0), byStatus: Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)])) };
}

/**
 * CPU time (user + system, every thread) a process has used, in ms, from /proc (Linux); null elsewhere. Less
 * sensitive than throughput to what else the machine runs, so it is printed beside it.
 */
function processCpuMs(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
/** Linux's USER_HZ, the unit of /proc/<pid>/stat's times. */
const CLOCK_TICKS = 100;

/** Watches the backlog (what was pending when the load ended) go down: until none is pending, or SETTLE_WATCH_MS. */
async function settle(ready: ServerReady, backlog: number): Promise<NonNullable<Side["settle"]>> {
  const started = performance.now();
  for (;;) {
    const [row] = await queryRows<{ n: number | string }>(ready.database ?? "", "SELECT COUNT(*) AS n FROM deliveries WHERE status = 'pending'");
    const remaining = Number(row?.n ?? 0);
    const seconds = (performance.now() - started) / 1000;
    if (remaining === 0 || seconds * 1000 > SETTLE_WATCH_MS) return { backlog, seconds, settled: remaining === 0, remaining };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts `mode`'s server and a load generator, warms up, measures about DURATION_SECONDS, stops both. */
async function measure(mode: ServerMode, kind: DatabaseKind, env: Record<string, string>, spec: (url: string, amount: number) => LoadSpec, prepare?: (url: string) => Promise<void>, settleAfter = false): Promise<Side> {
  const database = mode !== "bare" && kind === "postgres" ? freshPostgresUrl(`bench_${mode}`) : undefined;
  const server = await startServer(mode, { ...env, ...(database ? { BENCH_DATABASE_URL: database } : {}) });
  const { url } = server.ready;
  try {
    let side: Omit<Side, "stopSeconds">;
    const load = startLoadGenerator();
    try {
      await prepare?.(url);
      const sized = (rate: number, seconds: number) => Math.max(CONNECTIONS * 10, Math.round(rate * seconds));
      const warmup = await load.run(spec(url, WARMUP_REQUESTS));
      const calibration = await load.run(spec(url, sized(warmup.requestsPerSecond, CALIBRATION_SECONDS)));
      const cpuBefore = processCpuMs(server.ready.pid);
      const measured = await load.run(spec(url, sized(calibration.requestsPerSecond, DURATION_SECONDS)));
      const cpuAfter = processCpuMs(server.ready.pid);
      const cpuMsPerRequest = cpuBefore !== null && cpuAfter !== null ? (cpuAfter - cpuBefore) / Math.max(measured.responses, 1) : null;
      side = { warmups: [warmup, calibration], measured, cpuMsPerRequest };
    } finally {
      await load.close();
    }
    if (mode === "service") side.rowsAtEnd = await countRows(mode, server.ready);
    if (mode === "service" && settleAfter) side.settle = await settle(server.ready, side.rowsAtEnd?.byStatus.pending ?? 0);
    const stopping = Date.now();
    await server.stop();
    const stopSeconds = (Date.now() - stopping) / 1000;
    if (mode !== "bare") side.rows = await countRows(mode, server.ready);
    return { ...side, stopSeconds };
  } finally {
    await server.stop(); // idempotent; stops it when a run failed
    if (server.ready.dataDir) fs.rmSync(server.ready.dataDir, { recursive: true, force: true });
    if (database) await dropPostgresSchema(database).catch(() => undefined);
  }
}

/** Several measured sides as one: responses and seconds summed; latency percentiles the worst round's (a bound, not a mix). */
function combine(sides: Side[]): Side {
  const measured = sides.map((x) => x.measured);
  const seconds = measured.reduce((a, m) => a + m.seconds, 0);
  const responses = measured.reduce((a, m) => a + m.responses, 0);
  const statuses: Record<string, number> = {};
  for (const m of measured) for (const [code, n] of Object.entries(m.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  const worst = (f: (m: LoadSummary) => number) => Math.max(...measured.map(f));
  const rows = sides.every((x) => x.rows) ? sides.reduce<Rows>((acc, x) => ({ rows: acc.rows + (x.rows?.rows ?? 0), distinctIds: acc.distinctIds + (x.rows?.distinctIds ?? 0), byStatus: {} }), { rows: 0, distinctIds: 0, byStatus: {} }) : undefined;
  const last = sides[sides.length - 1];
  const cpu = sides.map((x) => x.cpuMsPerRequest);
  return {
    cpuMsPerRequest: cpu.every((c): c is number => c !== null) ? cpu.reduce((a, c, i) => a + c * sides[i].measured.responses, 0) / Math.max(responses, 1) : null,
    warmups: sides.flatMap((x) => x.warmups),
    measured: {
      requestsPerSecond: responses / seconds,
      seconds,
      responses,
      latencyMs: { mean: measured.reduce((a, m) => a + m.latencyMs.mean * m.responses, 0) / Math.max(responses, 1), p50: worst((m) => m.latencyMs.p50), p99: worst((m) => m.latencyMs.p99), max: worst((m) => m.latencyMs.max) },
      statuses,
      errors: measured.reduce((a, m) => a + m.errors, 0),
      timeouts: measured.reduce((a, m) => a + m.timeouts, 0),
    },
    rows,
    rowsAtEnd: last.rowsAtEnd,
    settle: last.settle,
    stopSeconds: last.stopSeconds,
  };
}

const sideFigure = (label: string, s: LoadSummary): Figure => ({
  label,
  value: `${fmt.perSecond(s.requestsPerSecond)} (${fmt.count(s.responses)} in ${s.seconds.toFixed(1)} s), latency p50 ${fmt.ms(s.latencyMs.p50)} p99 ${fmt.ms(s.latencyMs.p99)} max ${fmt.ms(s.latencyMs.max)}; ${describeStatuses(s)}`,
});

export const intake: Benchmark = {
  name: "intake",
  title: `POST /webhook (Connect JWT + inbox insert) vs a minimal durable receiver (express.json + HS256 + append with group commit) → 202, same database; ${CONNECTIONS} connections, ~${DURATION_SECONDS} s after a warm-up (${WARMUP_REQUESTS} requests + ~${CALIBRATION_SECONDS} s)`,
  async run() {
    const kind = benchDatabaseKind();
    const tenant = benchTenant();
    const { body, headers } = deliveryRequest(tenant.token);
    const spec = (url: string, amount: number): LoadSpec => ({
      url, method: "POST", path: "/webhook", headers, body, connections: CONNECTIONS, amount, uniqueHeader: "X-Request-UUID",
    });
    const tenantEnv = { BENCH_TENANT_KEY: tenant.installed.clientKey, BENCH_TENANT_SECRET: tenant.installed.secret };

    const bare = await measure("bare", kind, {}, spec);
    const durables: Side[] = [];
    const services: Side[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      durables.push(await measure("durable", kind, tenantEnv, spec));
      services.push(await measure("service", kind, {}, spec, (url) => installTenant(url, tenant), round === ROUNDS - 1));
    }
    const durable = combine(durables);
    const service = combine(services);

    const ratio = service.measured.requestsPerSecond / durable.measured.requestsPerSecond;
    const runs = (side: Side) => [...side.warmups, side.measured];
    const total = (side: Side, f: (s: LoadSummary) => number) => runs(side).reduce((sum, s) => sum + f(s), 0);
    const accepted = total(service, (s) => countOf(s, 202));
    const answered = total(service, (s) => s.responses);
    const serviceErrors = total(service, (s) => s.errors);
    const none: Rows = { rows: 0, distinctIds: 0, byStatus: {} };
    const rows = service.rows ?? none;
    const perRound = (sides: Side[]) => sides.map((x) => fmt.perSecond(x.measured.requestsPerSecond)).join(", ");
    const byStatus = (r: Rows) => Object.entries(r.byStatus).map(([status, n]) => `${status} ${fmt.count(n)}`).join(", ") || "none";
    const durableAccepted = total(durable, (s) => countOf(s, 202));
    const durableOk = durableAccepted === total(durable, (s) => s.responses) && total(durable, (s) => s.errors) === 0 && durable.rows?.rows === durableAccepted;
    const settled = service.settle;

    const figures: Figure[] = [
      { label: "body", value: `${DELIVERY_FIXTURE} (${fmt.count(Buffer.byteLength(body))} bytes), a fresh X-Request-UUID per request; database: ${kind}` },
      sideFigure("bare express.json (reference)", bare.measured),
      sideFigure("durable baseline", durable.measured),
      sideFigure("service", service.measured),
      {
        label: "CPU per request",
        value:
          service.cpuMsPerRequest !== null && durable.cpuMsPerRequest !== null && bare.cpuMsPerRequest !== null
            ? `service ${service.cpuMsPerRequest.toFixed(3)} ms, durable baseline ${durable.cpuMsPerRequest.toFixed(3)} ms (${fmt.ratio(durable.cpuMsPerRequest / service.cpuMsPerRequest)} of the service's), bare ${bare.cpuMsPerRequest.toFixed(3)} ms — every thread of the server process, the service's build engine included`
            : "not measured (no /proc)",
      },
      { label: "rounds", value: `${ROUNDS} alternated; durable baseline ${perRound(durables)}; service ${perRound(services)}` },
      { label: "throughput ratio", value: `${fmt.ratio(ratio)} (service / durable baseline); service / bare express.json ${fmt.ratio(service.measured.requestsPerSecond / bare.measured.requestsPerSecond)}` },
      { label: "deliveries rows", value: `${fmt.count(rows.rows)} rows (${fmt.count(rows.distinctIds)} distinct delivery ids) for ${fmt.count(accepted)} answers 202 of ${fmt.count(answered)} responses, warm-up included; durable baseline ${fmt.count(durable.rows?.rows ?? 0)} rows for ${fmt.count(durableAccepted)} × 202` },
      {
        label: "processor",
        value: settled
          ? `${fmt.count(settled.backlog)} deliveries pending when the burst ended (by status: ${byStatus(service.rowsAtEnd ?? none)}); ${settled.settled ? "all" : fmt.count(settled.backlog - settled.remaining)} settled in ${settled.seconds.toFixed(1)} s: ${Math.round((settled.backlog - settled.remaining) / Math.max(settled.seconds, 0.001))} deliveries/s${settled.settled ? "" : ` (the bench stopped watching after ${SETTLE_WATCH_MS / 1000} s)`} — each a repo:push for a repository that is no application: a decision, no build; the service took ${service.stopSeconds.toFixed(1)} s to stop`
          : "not measured",
      },
    ];
    const checks: Check[] = [
      atLeast("throughput ratio to the durable baseline", ratio, RATIO_TARGET, fmt.ratio),
      atMost("service p99 latency", service.measured.latencyMs.p99, P99_TARGET_MS, fmt.ms),
      {
        name: "deliveries rows = 202 answers (no lost or double writes)",
        measured: `${fmt.count(rows.rows)} rows, ${fmt.count(accepted)} × 202`,
        pass: rows.rows === accepted && rows.distinctIds === rows.rows,
      },
      {
        name: "every service request answered 202 (no 200 duplicate, 4xx, 5xx or connection error)",
        measured: `${fmt.count(answered - accepted)} other answers, ${serviceErrors} errors`,
        pass: accepted === answered && serviceErrors === 0,
      },
      {
        name: "the processor works through the backlog after the burst (all of it, or still going when the bench stops watching)",
        measured: settled ? `${fmt.count(settled.backlog - settled.remaining)} of ${fmt.count(settled.backlog)} in ${settled.seconds.toFixed(1)} s` : "not measured",
        pass: settled !== undefined && (settled.settled || settled.remaining < settled.backlog),
      },
      {
        name: "durable baseline answered 202 to every request and stored each (else its figure means nothing)",
        measured: durableOk ? "yes" : `${describeStatuses(durable.measured)}; ${fmt.count(durable.rows?.rows ?? 0)} rows for ${fmt.count(durableAccepted)} × 202`,
        pass: durableOk,
      },
      {
        name: "bare express.json answered 204 to every request",
        measured: total(bare, (s) => countOf(s, 204)) === total(bare, (s) => s.responses) ? "yes" : describeStatuses(bare.measured),
        pass: total(bare, (s) => countOf(s, 204)) === total(bare, (s) => s.responses) && total(bare, (s) => s.errors) === 0,
      },
    ];
    return { figures, checks };
  },
};
