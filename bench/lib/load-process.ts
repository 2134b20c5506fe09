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

/** `seconds`: from the start of the run to its last response (autocannon's own `duration` counts whole seconds). */
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
    // Timed from the start to the last response: autocannon only notices that a run sized in requests is over at
    // its next one-second tick, so the time until it resolves is whole seconds and overstates the run.
    const started = performance.now();
    let lastResponse = started;
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const run = autocannon({ url: spec.url, connections: spec.connections, amount: spec.amount, requests: [requestOf(spec)] }, (err, res) =>
        err ? reject(err) : resolve(res),
      );
      run.on("response", () => (lastResponse = performance.now()));
    });
    const seconds = (lastResponse - started) / 1000;
    await tell({ type: "result", summary: summarise(result, seconds) } satisfies LoadResultMessage);
  }
}

childMain(main);
