import http from "node:http";
import express, { type RequestHandler } from "express";
import type { AddressInfo } from "node:net";
import { loadConfig, type Config } from "./config/load-config";
import { openStorage, type Storage } from "./db/open-storage";
import { createApp } from "./app";
import { rootLogger, type Logger } from "./log/logger";
import { startEngine, type Engine, type EngineOptions } from "./builds/engine";
import { stopBuildsOnRevoke } from "./builds/revoke-builds";
import { deleteSshKeyOnRevoke } from "./tenants/ssh-key-revoke";
import { deleteOidcKeysOnRevoke } from "./tenants/oidc-key-revoke";
import { ServiceMetrics } from "./metrics/service-metrics";
import { metricsGet } from "./metrics/metrics-get";

export interface RunningServer {
  url: string;
  config: Config;
  storage: Storage;
  server: http.Server;
  engine: Engine;
  metrics: ServiceMetrics;
  /** The separate metrics listener's URL, when PIPELINES_METRICS_PORT is set. */
  metricsUrl: string | null;
  stop(): Promise<void>;
}

/**
 * Starts the service: validated config, database with migrations applied, HTTP server, routes. With PORT=0 (tests)
 * the public base URL is the address actually bound, unless PIPELINES_BASE_URL says otherwise.
 */
export async function start(env: Record<string, string | undefined> = process.env, log: Logger = rootLogger, engineOptions: EngineOptions = {}): Promise<RunningServer> {
  let config = loadConfig(env);
  const storage = await openStorage(config, log);
  const server = http.createServer();
  // The port is bound first (with PORT=0 the base URL is the bound address), the app made after: a request that
  // arrives in between waits for it instead of hanging unanswered.
  let early: [http.IncomingMessage, http.ServerResponse][] | null = [];
  const holdEarly = (req: http.IncomingMessage, res: http.ServerResponse) => early?.push([req, res]);
  server.on("request", holdEarly);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, env.HOST ?? (config.mode === "production" ? "0.0.0.0" : "127.0.0.1"), () => resolve());
    });
  } catch (err) {
    await storage.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  if (!env.PIPELINES_BASE_URL && !env.AC_LOCAL_BASE_URL && config.port === 0) {
    config = { ...config, baseUrl: `http://127.0.0.1:${port}` };
  }
  const metrics = new ServiceMetrics(storage.models);
  const metricsServer = config.metrics.port === null ? null : await listenForMetrics(config.metrics.port, config.metrics.host, metricsGet(metrics, config.metrics.token, log)).catch(async (err: unknown) => {
    server.close();
    await storage.close();
    throw err;
  });
  const engine = await startEngine(config, storage.models, log, { ...engineOptions, metrics });
  const { app, dispose } = await createApp({ config, log, storage, engine, metrics, revokers: [stopBuildsOnRevoke(engine.ctx), deleteSshKeyOnRevoke(storage.models), deleteOidcKeysOnRevoke(storage.models)], onDeliveryStored: engine.deliveryStored });
  // Requests still being answered when the service stops finish first (their delivery may be mid-commit).
  let inFlight = 0;
  let idle: (() => void) | null = null;
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight++;
    res.once("close", () => {
      if (--inFlight === 0) idle?.();
    });
    app(req, res);
  });
  server.off("request", holdEarly);
  const waiting = early;
  early = null;
  for (const [req, res] of waiting) server.emit("request", req, res);
  const drained = (ms: number) =>
    new Promise<void>((resolve) => {
      if (inFlight === 0) return resolve();
      const t = setTimeout(resolve, ms);
      idle = () => {
        clearTimeout(t);
        resolve();
      };
    });
  log.info(`Pipelines for Bitbucket listening on ${config.baseUrl}`, { port, database: config.database.dialect });

  return {
    url: config.baseUrl,
    config,
    storage,
    server,
    engine,
    metrics,
    metricsUrl: metricsServer?.url ?? null,
    async stop() {
      if (metricsServer) await metricsServer.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await drained(10_000);
      server.closeAllConnections();
      await closed;
      await engine.stop();
      await storage.close();
      dispose();
    },
  };
}

/**
 * The metrics on a listener of their own (PIPELINES_METRICS_PORT, on PIPELINES_METRICS_HOST: 127.0.0.1 unless the
 * operator says otherwise), answering GET /metrics and nothing else.
 */
async function listenForMetrics(port: number, host: string, handler: RequestHandler): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.disable("x-powered-by");
  app.get("/metrics", handler);
  app.use((_req, res) => void res.status(404).json({ error: "only GET /metrics is served here" }));
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (require.main === module) {
  start().then(
    (running) => {
      const shutdown = () => {
        rootLogger.info("shutting down");
        running.stop().then(() => process.exit(0), () => process.exit(1));
      };
      process.on("SIGTERM", shutdown);
      process.on("SIGINT", shutdown);
    },
    (err: Error) => {
      // Whatever the log level: a service that cannot start says why, on stderr, before it exits.
      process.stderr.write(`cannot start: ${err.message}\n`, () => process.exit(1));
    },
  );
}
