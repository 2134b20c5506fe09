import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Sequelize } from "sequelize";
import type { EngineOptions } from "../../src/builds/engine";
import { start, type RunningServer } from "../../src/server";
import { addSink, createLogger } from "../../src/log/logger";

export interface TestServer extends RunningServer {
  dataDir: string;
  /** Every line the service logged while it ran. */
  logs: string[];
  /** The sqlite file, when the test runs on the embedded default. */
  sqliteFile?: string;
  /** The secret-encryption key the server runs with. */
  secretKey: string;
  /** The environment it was started with (a CLI given it talks to the same database). */
  env: Record<string, string | undefined>;
}

/**
 * The database a test server gets: a fresh sqlite file, or — when the suite runs with a Postgres DATABASE_URL —
 * a fresh schema in that database, dropped afterwards.
 */
function testDatabase(dataDir: string): { url: string; sqliteFile?: string; schema?: string } {
  const base = process.env.DATABASE_URL;
  if (base && /^postgres(ql)?:/.test(base)) {
    const schema = `t_${process.pid}_${randomBytes(4).toString("hex")}`;
    const u = new URL(base);
    u.searchParams.set("schema", schema);
    return { url: u.toString(), schema };
  }
  const sqliteFile = path.join(dataDir, "pipelines.sqlite");
  return { url: `sqlite:${sqliteFile}`, sqliteFile };
}

/** Tests poll fast; a lease or grace period can be shortened to see a lost runner or a stop quickly. */
const TEST_ENGINE: EngineOptions = { pollMs: 100, graceMs: 2000 };

export async function startTestServer(extraEnv: Record<string, string> = {}, engine: EngineOptions = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pipelines-test-"));
  const db = testDatabase(dataDir);
  const secretKey = randomBytes(32).toString("base64");
  const logs: string[] = [];
  const removeSink = addSink((line) => logs.push(line));
  const env: Record<string, string | undefined> = {
    NODE_ENV: "test",
    PORT: "0",
    PIPELINES_DATA_DIR: dataDir,
    PIPELINES_ALLOWED_HOSTS: "127.0.0.1,localhost",
    PIPELINES_SECRET_KEY: secretKey,
    DATABASE_URL: db.url,
    PATH: process.env.PATH,
    ...extraEnv,
  };
  const running = await start(env, createLogger({ test: true }), { ...TEST_ENGINE, ...engine });
  return {
    ...running,
    dataDir,
    logs,
    sqliteFile: db.sqliteFile,
    secretKey,
    env,
    async stop() {
      removeSink();
      await running.stop();
      if (db.schema && process.env.DATABASE_URL) {
        const admin = new Sequelize(process.env.DATABASE_URL, { logging: false });
        await admin.query(`DROP SCHEMA IF EXISTS "${db.schema}" CASCADE`).catch(() => undefined);
        await admin.close();
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
