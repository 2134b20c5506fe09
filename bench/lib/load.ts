import path from "node:path";
import { forkChild, type Child, type Message } from "./child";

/** An HTTP load run, as the load process (`load-process.ts`, autocannon) takes it. */
export interface LoadSpec {
  url: string;
  method: "POST" | "GET" | "PUT";
  path: string;
  headers: Record<string, string>;
  body?: string;
  connections: number;
  /**
   * Requests to make, spread over the connections. A count rather than a duration: autocannon stops a timed run with
   * requests still in flight and never sees their answers, while with a count every request made is answered, so
   * what the server stored can be compared with what it answered.
   */
  amount: number;
  /** A header given a fresh random UUID on every request (a delivery id). */
  uniqueHeader?: string;
}

export interface LoadSummary {
  /** Responses / elapsed seconds. */
  requestsPerSecond: number;
  seconds: number;
  /** Responses received, whatever their status. */
  responses: number;
  latencyMs: { mean: number; p50: number; p99: number; max: number };
  /** Responses by HTTP status. */
  statuses: Record<string, number>;
  /** Connection errors, timeouts included. */
  errors: number;
  timeouts: number;
}

export interface RunLoadMessage extends Message {
  type: "run";
  spec: LoadSpec;
}

export interface LoadResultMessage extends Message {
  type: "result";
  summary: LoadSummary;
}

/** A load generator in its own process: runs are made one after another until `close`. */
export interface LoadGenerator {
  run(spec: LoadSpec): Promise<LoadSummary>;
  close(): Promise<void>;
}

export function startLoadGenerator(): LoadGenerator {
  const child: Child = forkChild(path.join(__dirname, "load-process.ts"));
  return {
    async run(spec) {
      const result = child.next<LoadResultMessage>("result");
      child.send({ type: "run", spec } satisfies RunLoadMessage);
      return (await result).summary;
    },
    async close() {
      child.send({ type: "close" });
      await child.exited;
    },
  };
}

/** Responses with status `code`. */
export function countOf(summary: LoadSummary, code: number): number {
  return summary.statuses[String(code)] ?? 0;
}

/** "202 ×41234, 200 ×2": every status seen, for the record. */
export function describeStatuses(summary: LoadSummary): string {
  const parts = Object.entries(summary.statuses).map(([code, n]) => `${code} ×${n}`);
  if (summary.errors) parts.push(`connection errors ×${summary.errors} (timeouts ×${summary.timeouts})`);
  return parts.join(", ") || "none";
}
