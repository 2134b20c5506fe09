import path from "node:path";
import { forkChild, profileOptions, type Message } from "../lib/child";

export type ServerMode = "service" | "durable" | "bare";

export interface ServerReady extends Message {
  type: "ready";
  url: string;
  /** The database it writes to (`sqlite:<file>` or a Postgres URL with `?schema=`); none for `bare`. */
  database?: string;
  /** The server's process id (its CPU time can be read from /proc). */
  pid?: number;
  /** A temp directory to remove afterwards. */
  dataDir?: string;
}

export interface MeasuredServer {
  ready: ServerReady;
  /** Stops the server (the service closes its database) and waits for its process to exit. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the server under test in its own process (`server-process.ts`). Every mode gets the identical arrangement:
 * same process setup, same environment, one process each. With BENCH_CPU_PROF=<dir> the server writes a V8 CPU
 * profile when it exits (see `profileOptions`).
 */
export async function startServer(mode: ServerMode, env: Record<string, string | undefined> = {}): Promise<MeasuredServer> {
  const child = forkChild(path.join(__dirname, "server-process.ts"), {
    args: [mode],
    env: { NODE_ENV: "test", LOG_LEVEL: "error", ...env },
    nodeOptions: profileOptions(`intake-${mode}`),
  });
  const ready = await child.next<ServerReady>("ready");
  let stopping: Promise<void> | null = null;
  const stop = async () => {
    const stopped = child.next("stopped");
    child.send({ type: "stop" });
    await stopped;
    await child.exited;
  };
  return { ready, stop: () => (stopping ??= stop()) };
}
