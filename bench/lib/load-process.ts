import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { childMain, parentMessages, tell } from "./child";
import type { LoadResultMessage, LoadSpec, LoadSummary, RunLoadMessage } from "./load";

/**
 * The load generator's process: autocannon, kept apart from the program it measures so the two do not compete for
 * one event loop. It runs each `run` it is sent and answers with a summary, until `close`.
 */

function requestOf(spec: LoadSpec): autocannon.Request {
  const request: autocannon.Request = { method: spec.method, path: spec.path, headers: spec.headers, body: spec.body };
  const unique = spec.uniqueHeader;
  if (unique) {
    // Called for every request autocannon builds (each connection's first one included).
    request.setupRequest = (req) => ({ ...req, headers: { ...req.headers, [unique]: randomUUID() } });
  }
  return request;
}

/** `seconds`: measured around the run; autocannon's own `duration` counts whole seconds. */
function summarise(result: autocannon.Result, seconds: number): LoadSummary {
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0;
  const responses = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    requestsPerSecond: responses / seconds,
    seconds,
    responses,
    latencyMs: { mean: result.latency.average, p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

async function main(): Promise<void> {
  const inbox = parentMessages();
  for (;;) {
    const message = await inbox.next();
    if (message.type !== "run") return;
    const { spec } = message as RunLoadMessage;
    const started = performance.now();
    const result = await autocannon({
      url: spec.url,
      connections: spec.connections,
      amount: spec.amount,
      requests: [requestOf(spec)],
    });
    const seconds = (performance.now() - started) / 1000;
    await tell({ type: "result", summary: summarise(result, seconds) } satisfies LoadResultMessage);
  }
}

childMain(main);
