import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { loadConfig } from "../../src/config/load-config";
import { ConfigError } from "../../src/config/config-error";

const ROOT = path.join(__dirname, "..", "..");
const KEY = Buffer.alloc(32, 7).toString("base64");

describe("configuration", () => {
  const load = (env: Record<string, string>) => loadConfig({ PATH: process.env.PATH, ...env }, ROOT);
  const fails = (env: Record<string, string>, setting: string, message: RegExp) => {
    assert.throws(() => load(env), (err: unknown) => err instanceof ConfigError && err.setting === setting && message.test(err.message));
  };

  it("defaults to the embedded sqlite file under data/ on port 3000", () => {
    const c = load({ NODE_ENV: "development" });
    assert.equal(c.port, 3000);
    assert.deepEqual(c.database, { dialect: "sqlite", storage: path.join(ROOT, "data", "pipelines.sqlite") });
  });
  it("takes Postgres from DATABASE_URL, with an optional schema", () => {
    const c = load({ DATABASE_URL: "postgres://postgres@127.0.0.1:5432/test?schema=ci_1" });
    assert.deepEqual(c.database, { dialect: "postgres", url: "postgres://postgres@127.0.0.1:5432/test", schema: "ci_1" });
  });
  for (const [url, message] of [
    ["mysql://root@localhost/x", /unsupported scheme/],
    ["not a url", /is not a URL/],
    ["postgres://127.0.0.1:5432/", /names no database/],
    ["postgres://127.0.0.1/db?schema=Robert'); DROP", /schema/],
  ] as const) {
    it(`a bad DATABASE_URL (${url}) names the setting`, () => fails({ DATABASE_URL: url }, "DATABASE_URL", message));
  }
  it("production refuses to start without PIPELINES_SECRET_KEY", () => {
    fails({ NODE_ENV: "production", PORT: "8080", PIPELINES_BASE_URL: "https://ci.example.com" }, "PIPELINES_SECRET_KEY", /required in production/);
  });
  it("a key that is not 32 bytes is refused", () => fails({ PIPELINES_SECRET_KEY: "c2hvcnQ=" }, "PIPELINES_SECRET_KEY", /32 random bytes/));
  it("production needs an https base URL", () => {
    fails({ NODE_ENV: "production", PORT: "8080", PIPELINES_SECRET_KEY: KEY, PIPELINES_BASE_URL: "http://ci.example.com" }, "PIPELINES_BASE_URL", /https/);
  });
  it("production accepts installs from bitbucket.org only", () => {
    const c = load({ NODE_ENV: "production", PORT: "8080", PIPELINES_SECRET_KEY: KEY, PIPELINES_BASE_URL: "https://ci.example.com" });
    assert.deepEqual(c.allowedHosts, ["bitbucket.org"]);
  });
  it("a bad number names the setting", () => fails({ PIPELINES_CONCURRENCY_PER_TENANT: "lots" }, "PIPELINES_CONCURRENCY_PER_TENANT", /whole number/));
  it("reads pipeline files within limits and a time budget, in one worker thread, unless told otherwise", () => {
    assert.deepEqual(load({}).pipelineFile, { maxBytes: 131_072, maxDepth: 64, maxNodes: 20_000, timeBudgetMs: 3000, workers: 1 });
    const c = load({ PIPELINES_FILE_MAX_NODES: "50000", PIPELINES_FILE_TIME_BUDGET_MS: "5000", PIPELINES_FILE_WORKERS: "2" });
    assert.deepEqual([c.pipelineFile.maxNodes, c.pipelineFile.timeBudgetMs, c.pipelineFile.workers], [50_000, 5000, 2]);
  });
  it("the queue timeout (default 2.5 h), the in-process runner's labels and the admin token", () => {
    const d = load({});
    assert.deepEqual([d.queueTimeoutMs, d.runnerLabels, d.adminToken], [9_000_000, [], null]);
    assert.equal(load({ PIPELINES_QUEUE_TIMEOUT: "150m" }).queueTimeoutMs, 9_000_000);
    assert.equal(load({ PIPELINES_QUEUE_TIMEOUT: "2.5h" }).queueTimeoutMs, 9_000_000);
    assert.equal(load({ PIPELINES_QUEUE_TIMEOUT: "90" }).queueTimeoutMs, 90_000);
    fails({ PIPELINES_QUEUE_TIMEOUT: "soon" }, "PIPELINES_QUEUE_TIMEOUT", /duration/);
    fails({ PIPELINES_QUEUE_TIMEOUT: "0.1s" }, "PIPELINES_QUEUE_TIMEOUT", /at least 1 s/);
    assert.deepEqual(load({ PIPELINES_RUNNER_LABELS: "GPU, linux.arm64" }).runnerLabels, ["gpu", "linux.arm64"]);
    fails({ PIPELINES_RUNNER_LABELS: "gpu,has space" }, "PIPELINES_RUNNER_LABELS", /not a runner label/);
    fails({ PIPELINES_ADMIN_TOKEN: "short" }, "PIPELINES_ADMIN_TOKEN", /at least 24/);
    assert.equal(load({ PIPELINES_ADMIN_TOKEN: "x".repeat(30) }).adminToken, "x".repeat(30));
  });
  it("a pipeline-file setting out of range names the setting", () => {
    fails({ PIPELINES_FILE_TIME_BUDGET_MS: "10" }, "PIPELINES_FILE_TIME_BUDGET_MS", /from 50 to 60000/);
    fails({ PIPELINES_FILE_WORKERS: "16" }, "PIPELINES_FILE_WORKERS", /from 1 to 4/);
    fails({ PIPELINES_FILE_MAX_BYTES: "1mb" }, "PIPELINES_FILE_MAX_BYTES", /whole number/);
  });

  it("the service exits with a message naming the setting (a database it cannot reach)", function () {
    this.timeout(60_000);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pipelines-cfg-"));
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/server.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, NODE_ENV: "test", PORT: "0", PIPELINES_DATA_DIR: dataDir, DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" },
      encoding: "utf8",
      timeout: 50_000,
    });
    fs.rmSync(dataDir, { recursive: true, force: true });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /DATABASE_URL: cannot connect/);
  });
});
