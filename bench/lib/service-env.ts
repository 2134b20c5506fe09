import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * The environment a benchmark starts the real service with (`start(env)` from src/server.ts), as the tests do: a
 * fresh data directory and sqlite file in a temp folder, port 0, a random secret key, 127.0.0.1 as a Bitbucket host.
 */
export function benchServiceEnv(prefix: string, extra: Record<string, string> = {}): { env: Record<string, string | undefined>; dataDir: string; sqliteFile: string } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  const sqliteFile = path.join(dataDir, "pipelines.sqlite");
  const env: Record<string, string | undefined> = {
    NODE_ENV: "test",
    PORT: "0",
    PIPELINES_DATA_DIR: dataDir,
    PIPELINES_ALLOWED_HOSTS: "127.0.0.1,localhost",
    PIPELINES_SECRET_KEY: randomBytes(32).toString("base64"),
    DATABASE_URL: `sqlite:${sqliteFile}`,
    PATH: process.env.PATH,
    ...extra,
  };
  return { env, dataDir, sqliteFile };
}
