import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { start } from "../../src/server";
import { createLogger } from "../../src/log/logger";
import { childMain, parentMessages, tell } from "../lib/child";
import { benchServiceEnv } from "../lib/service-env";
import type { ServerReady } from "./servers";

/**
 * The measured HTTP server, in a process of its own (argv[2] says which):
 * - `service`: the real service, started as the tests start it (`start(env)` on a fresh sqlite file in a temp
 *   directory, NODE_ENV=test, port 0);
 * - `baseline`: a bare Express 4 app with `express.json({ limit: "1mb" })` answering 204 on POST /webhook.
 * It reports its URL, serves until the parent says `stop`, then closes everything and exits.
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

async function startBaseline(): Promise<{ ready: ServerReady; stop(): Promise<void> }> {
  const app = express();
  app.post("/webhook", express.json({ limit: "1mb" }), (_req, res) => void res.status(204).end());
  const server = await listen(app);
  return { ready: { type: "ready", url: server.url }, stop: server.close };
}

async function startService(): Promise<{ ready: ServerReady; stop(): Promise<void> }> {
  const { env, dataDir, sqliteFile } = benchServiceEnv("pipelines-bench");
  const running = await start(env, createLogger({ bench: "intake" }));
  return { ready: { type: "ready", url: running.url, sqliteFile, dataDir }, stop: running.stop };
}

childMain(async () => {
  const mode = process.argv[2];
  if (mode !== "service" && mode !== "baseline") throw new Error(`server-process: unknown mode "${mode}"`);
  const inbox = parentMessages();
  const server = mode === "service" ? await startService() : await startBaseline();
  await tell(server.ready);
  while ((await inbox.next()).type !== "stop");
  await server.stop();
  await tell({ type: "stopped" });
});
