import fs from "node:fs";
import { atLeast, atMost, fmt, type Benchmark, type Check, type Figure } from "../lib/benchmark";
import { countOf, describeStatuses, startLoadGenerator, type LoadSpec, type LoadSummary } from "../lib/load";
import { openSqlite } from "../lib/sqlite";
import { benchTenant, deliveryRequest, DELIVERY_FIXTURE, installTenant } from "./connect-delivery";
import { startServer, type ServerMode, type ServerReady } from "./servers";

/**
 * intake: POST /webhook of the real service (JWT check, inbox insert into sqlite, 202) under 50 connections,
 * against a bare Express 4 app with `express.json()` answering 204 — same body, headers, load and process
 * arrangement. Each side runs in its own process and autocannon in a third, so neither shares a core with it.
 * The service is the whole service as `start()` makes it: its build engine (processor, poster, reaper, in-process
 * runner) runs beside the intake, as in production.
 */

const CONNECTIONS = 50;
/** The measured run is sized (in requests) from the warm-up's rate to last about this long. */
const DURATION_SECONDS = Number(process.env.BENCH_INTAKE_SECONDS ?? 10);
/** Warm-up: this many requests (the JIT warms per request, not per second), then about 2 s to learn the rate. */
const WARMUP_REQUESTS = 3000;
const CALIBRATION_SECONDS = 2;
const RATIO_TARGET = 0.75;
const P99_TARGET_MS = 50;

interface Side {
  warmups: LoadSummary[];
  measured: LoadSummary;
  /** Service only: the deliveries table when the load ended (the service still running) and once it has stopped. */
  rowsAtEnd?: DeliveryRows;
  rows?: DeliveryRows;
  /** How long the server took to stop. */
  stopSeconds: number;
}

interface DeliveryRows {
  rows: number;
  distinctIds: number;
  /** Rows per status: how far the build engine's processor got while the intake was loaded. */
  byStatus: Record<string, number>;
}

async function countDeliveries(ready: ServerReady): Promise<DeliveryRows> {
  if (!ready.sqliteFile) throw new Error("the service did not report its sqlite file");
  const db = await openSqlite(ready.sqliteFile);
  try {
    const row = await db.get<{ rows: number; distinctIds: number }>("SELECT COUNT(*) AS rows, COUNT(DISTINCT delivery_id) AS distinctIds FROM deliveries");
    const statuses = await db.all<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status ORDER BY status");
    return { rows: row?.rows ?? 0, distinctIds: row?.distinctIds ?? 0, byStatus: Object.fromEntries(statuses.map((s) => [s.status, s.n])) };
  } finally {
    await db.close();
  }
}

/** Starts `mode`'s server and a load generator, warms up, measures about DURATION_SECONDS, stops both. */
async function measure(mode: ServerMode, spec: (url: string, amount: number) => LoadSpec, prepare?: (url: string) => Promise<void>): Promise<Side> {
  const server = await startServer(mode);
  const { url } = server.ready;
  try {
    let side: Omit<Side, "stopSeconds">;
    const load = startLoadGenerator();
    try {
      await prepare?.(url);
      const sized = (rate: number, seconds: number) => Math.max(CONNECTIONS * 10, Math.round(rate * seconds));
      const warmup = await load.run(spec(url, WARMUP_REQUESTS));
      const calibration = await load.run(spec(url, sized(warmup.requestsPerSecond, CALIBRATION_SECONDS)));
      const measured = await load.run(spec(url, sized(calibration.requestsPerSecond, DURATION_SECONDS)));
      side = { warmups: [warmup, calibration], measured };
      if (mode === "service") side.rowsAtEnd = await countDeliveries(server.ready); // WAL: a reader beside the running service
    } finally {
      await load.close();
    }
    const stopping = Date.now();
    await server.stop();
    const stopSeconds = (Date.now() - stopping) / 1000;
    if (mode === "service") side.rows = await countDeliveries(server.ready);
    return { ...side, stopSeconds };
  } finally {
    await server.stop(); // idempotent; stops it when a run failed
    if (server.ready.dataDir) fs.rmSync(server.ready.dataDir, { recursive: true, force: true });
  }
}

const sideFigure = (label: string, s: LoadSummary): Figure => ({
  label,
  value: `${fmt.perSecond(s.requestsPerSecond)} (${fmt.count(s.responses)} in ${s.seconds.toFixed(1)} s), latency p50 ${fmt.ms(s.latencyMs.p50)} p99 ${fmt.ms(s.latencyMs.p99)} max ${fmt.ms(s.latencyMs.max)}; ${describeStatuses(s)}`,
});

export const intake: Benchmark = {
  name: "intake",
  title: `POST /webhook (Connect JWT + inbox insert) vs bare express.json() → 204; ${CONNECTIONS} connections, ~${DURATION_SECONDS} s after a warm-up (${WARMUP_REQUESTS} requests + ~${CALIBRATION_SECONDS} s)`,
  async run() {
    const tenant = benchTenant();
    const { body, headers } = deliveryRequest(tenant.token);
    const spec = (url: string, amount: number): LoadSpec => ({
      url, method: "POST", path: "/webhook", headers, body, connections: CONNECTIONS, amount, uniqueHeader: "X-Request-UUID",
    });

    const baseline = await measure("baseline", spec);
    const service = await measure("service", spec, (url) => installTenant(url, tenant));

    const ratio = service.measured.requestsPerSecond / baseline.measured.requestsPerSecond;
    const runs = (side: Side) => [...side.warmups, side.measured];
    const total = (side: Side, f: (s: LoadSummary) => number) => runs(side).reduce((sum, s) => sum + f(s), 0);
    const accepted = total(service, (s) => countOf(s, 202));
    const answered = total(service, (s) => s.responses);
    const serviceErrors = total(service, (s) => s.errors);
    const none: DeliveryRows = { rows: 0, distinctIds: 0, byStatus: {} };
    const rows = service.rows ?? none;
    const byStatus = (r: DeliveryRows) => Object.entries(r.byStatus).map(([status, n]) => `${status} ${fmt.count(n)}`).join(", ") || "none";
    const baselineOk = total(baseline, (s) => countOf(s, 204)) === total(baseline, (s) => s.responses) && total(baseline, (s) => s.errors) === 0;

    const figures: Figure[] = [
      { label: "body", value: `${DELIVERY_FIXTURE} (${fmt.count(Buffer.byteLength(body))} bytes), a fresh X-Request-UUID per request` },
      sideFigure("baseline", baseline.measured),
      sideFigure("service", service.measured),
      { label: "throughput ratio", value: `${fmt.ratio(ratio)} (service / baseline)` },
      { label: "deliveries rows", value: `${fmt.count(rows.rows)} rows (${fmt.count(rows.distinctIds)} distinct delivery ids) for ${fmt.count(accepted)} answers 202 of ${fmt.count(answered)} responses, warm-up included` },
      {
        label: "processor",
        value: `deliveries by status when the load ended: ${byStatus(service.rowsAtEnd ?? none)}; once stopped: ${byStatus(rows)}; the service took ${service.stopSeconds.toFixed(1)} s to stop (baseline ${baseline.stopSeconds.toFixed(1)} s)`,
      },
    ];
    const checks: Check[] = [
      atLeast("throughput ratio", ratio, RATIO_TARGET, fmt.ratio),
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
        name: "baseline answered 204 to every request (else its figure means nothing)",
        measured: baselineOk ? "yes" : describeStatuses(baseline.measured),
        pass: baselineOk,
      },
    ];
    return { figures, checks };
  },
};
