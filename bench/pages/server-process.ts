import fs from "node:fs";
import { performance } from "node:perf_hooks";
import { start } from "../../src/server";
import { createLogger } from "../../src/log/logger";
import { childMain, parentMessages, tell } from "../lib/child";
import { benchServiceEnv } from "../lib/service-env";
import { seedBuilds } from "./seed-builds";

/**
 * The service for the pages benchmark, in a process of its own: started as the tests start it (`start(env)`,
 * NODE_ENV=test, port 0, a fresh sqlite file, LOG_LEVEL=error) with everything start() starts. It reports its URL,
 * seeds builds when told (`seed`: an application, a count), serves until `stop`, then stops and exits.
 */

export interface SeedMessage {
  type: "seed";
  applicationId: number;
  count: number;
  mainBranch: string;
}

childMain(async () => {
  const inbox = parentMessages();
  const { env, dataDir } = benchServiceEnv("pipelines-bench-pages", { LOG_LEVEL: "error" });
  const running = await start(env, createLogger({ bench: "pages" }));
  try {
    await tell({ type: "ready", url: running.url });
    for (;;) {
      const message = await inbox.next();
      if (message.type !== "seed") break;
      const { applicationId, count, mainBranch } = message as unknown as SeedMessage;
      const app = await running.storage.models.Application.findByPk(applicationId);
      if (!app) throw new Error(`no application ${applicationId} to seed`);
      const started = performance.now();
      await seedBuilds(running.storage.models.sequelize, { tenantId: app.tenantId, applicationId, count, mainBranch });
      const rows = await running.storage.models.Build.count({ where: { applicationId } });
      await tell({ type: "seeded", rows, ms: performance.now() - started });
    }
  } finally {
    await running.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
