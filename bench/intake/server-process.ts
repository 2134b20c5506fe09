import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import express from "express";
import { start } from "../../src/server";
import { createLogger } from "../../src/log/logger";
import { childMain, parentMessages, tell } from "../lib/child";
import { benchServiceEnv } from "../lib/service-env";
import { durableReceiver } from "./durable-receiver";
import type { ServerReady } from "./servers";

/**
 * The measured HTTP server, in a process of its own (argv[2] says which):
 * - `service`: the real service, started as the tests start it (`start(env)`, NODE_ENV=test, port 0) on a fresh
 *   sqlite file in a temp directory, or on BENCH_DATABASE_URL (a Postgres schema) when given;
 * - `durable`: the minimal durable receiver (durable-receiver.ts) on the same kind of database, knowing the tenant
 *   from BENCH_TENANT_KEY / BENCH_TENANT_SECRET;
 * - `bare`: a bare Express 4 app with `express.json({ limit: "1mb" })` answering 204 on POST /webhook.
 * It reports its URL (and database), serves until the parent says `stop`, then closes everything and exits.
 */

async function listen(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function startBare(): Promise<{ ready: ServerReady; stop(): Promise<void> }> {
  const app = express();
  app.post("/webhook", express.json({ limit: "1mb" }), (_req, res) => void res.status(204).end());
  const server = await listen(app);
  return { ready: { type: "ready", url: server.url }, stop: server.close };
}

async function startDurable(): Promise<{ ready: ServerReady; stop(): Promise<void> }> {
  const key = process.env.BENCH_TENANT_KEY;
  const secret = process.env.BENCH_TENANT_SECRET;
  if (!key || !secret) throw new Error("the durable receiver needs BENCH_TENANT_KEY and BENCH_TENANT_SECRET");
  let dataDir: string | undefined;
  let database = process.env.BENCH_DATABASE_URL;
  if (!database) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pipelines-bench-durable-"));
    database = `sqlite:${path.join(dataDir, "received.sqlite")}`;
  }
  const receiver = await durableReceiver(database, new Map([[key, secret]]));
  const server = await listen(receiver.app);
  return {
    ready: { type: "ready", url: server.url, database, dataDir },
    stop: async () => {
      await server.close();
      await receiver.close();
    },
  };
}

async function startService(): Promise<{ ready: ServerReady; stop(): Promise<void> }> {
  const given = process.env.BENCH_DATABASE_URL;
  const { env, dataDir, sqliteFile } = benchServiceEnv("pipelines-bench", given ? { DATABASE_URL: given } : {});
  const running = await start(env, createLogger({ bench: "intake" }));
  return { ready: { type: "ready", url: running.url, database: given ?? `sqlite:${sqliteFile}`, dataDir }, stop: running.stop };
}

childMain(async () => {
  const mode = process.argv[2];
  if (mode !== "service" && mode !== "durable" && mode !== "bare") throw new Error(`server-process: unknown mode "${mode}"`);
  const inbox = parentMessages();
  const server = mode === "service" ? await startService() : mode === "durable" ? await startDurable() : await startBare();
  await tell({ ...server.ready, pid: process.pid });
  while ((await inbox.next()).type !== "stop");
  await server.stop();
  await tell({ type: "stopped" });
});
