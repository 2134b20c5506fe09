import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { atMost, fmt, type Benchmark } from "../lib/benchmark";
import { benchServiceEnv } from "../lib/service-env";
import { startBitbucketCloud } from "../../test/standin/cloud";
import { mintToken } from "../../test/support/connect-tokens";
import { start } from "../../src/server";
import { createLogger } from "../../src/log/logger";

/**
 * push-to-step: a push is acknowledged (the 202 reaches Bitbucket's side) → the first command of the first step
 * runs, median over 50 pushes on the embedded default (sqlite file, in-process runner), the whole path real: the
 * stand-in sends a signed repo:push, the app reads bitbucket-pipelines.yml through the API, queues, claims, fetches
 * the commit over git smart HTTP with a JWT-grant token, and starts `bash -e`. The step's first command prints the
 * clock; the latency is that minus the moment the 202 arrived.
 *
 * Baseline in the same run: the least any such service must do — a bare express endpoint that answers 202 and
 * then spawns `bash` running the same first command, measured the same way.
 */

const PUSHES = Number(process.env.BENCH_PUSHES ?? 50);
const TARGET_MS = 250;
const STAMP = "echo STARTED_AT=$(date +%s%3N)";
const PIPELINE = `pipelines:\n  default:\n    - step:\n        name: Stamp\n        script:\n          - ${STAMP}\n`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))];

async function waitFor<T>(what: string, check: () => Promise<T | null | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The service: every push measured from its 202 to the step's first command. */
async function measureService(): Promise<number[]> {
  const { env, dataDir } = benchServiceEnv("bench-push", { LOG_LEVEL: "error" });
  const logLevel = process.env.LOG_LEVEL;
  process.env.LOG_LEVEL = "error"; // the service logs every job; the figures are what matters here
  const bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
  const server = await start(
    env,
    createLogger({ bench: true }),
    { pollMs: 1000 },
  );
  const { models } = server.storage;
  try {
    await bb.createRepository("bench", "app");
    const inst = await bb.install(server.url, { workspace: "bench" });
    if (inst.status !== 204) throw new Error(`install answered ${inst.status}`);
    const token = mintToken({ clientKey: inst.clientKey, secret: bb.currentSecret(inst.clientKey) ?? inst.sharedSecret, context: true });
    const created = await fetch(`${server.url}/api/applications`, {
      method: "POST",
      headers: { Authorization: `JWT ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ repository: "bench/app" }),
    });
    if (created.status !== 201) throw new Error(`creating the application answered ${created.status}`);
    const { id: applicationId } = (await created.json()) as { id: number };

    const latencies: number[] = [];
    for (let i = 0; i <= PUSHES; i++) {
      const commit = await bb.commit("bench", "app", { files: { "bitbucket-pipelines.yml": PIPELINE, "n.txt": String(i) }, message: `push ${i}` });
      const data = bb.pushPayload("bench/app", [{ name: "main", old: commit.previous, new: commit.hash }]);
      const delivery = await bb.sendWebhook(server.url, inst.clientKey, "repo:push", data, { retries: 0 });
      const ackedAt = Date.now();
      if (delivery.status !== 202) throw new Error(`push ${i} answered ${delivery.status}`);
      const build = await waitFor(`build of push ${i}`, async () => {
        const b = await models.Build.findOne({ where: { applicationId, commit: commit.hash } });
        return b && ["SUCCESSFUL", "FAILED", "STOPPED"].includes(b.state) ? b : null;
      });
      if (build.state !== "SUCCESSFUL") throw new Error(`push ${i}: build ${build.state}: ${build.stateReason}`);
      const step = await models.Step.findOne({ where: { buildId: build.id, index: 0 } });
      const chunks = await models.LogChunk.findAll({ where: { stepId: step?.id ?? -1 }, order: [["offset", "ASC"]] });
      const started = /STARTED_AT=(\d+)/.exec(Buffer.concat(chunks.map((c) => c.data)).toString("utf8"));
      if (!started) throw new Error(`push ${i}: the step did not print its start time`);
      // The first push warms caches (the JWT-grant token, compiled code paths); it is not counted.
      if (i > 0) latencies.push(Number(started[1]) - ackedAt);
    }
    return latencies;
  } finally {
    await server.stop();
    await bb.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (logLevel === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = logLevel;
  }
}

/** The baseline: answer 202, then spawn bash with the same first command; measured from the 202 the same way. */
async function measureBaseline(): Promise<number[]> {
  const app = express();
  const started: Array<(ms: number) => void> = [];
  app.post("/webhook", express.json({ limit: "1mb" }), (_req, res) => {
    res.status(202).end();
    const child = spawn("bash", ["-e", "-c", STAMP], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.on("close", () => started.shift()?.(Number(/STARTED_AT=(\d+)/.exec(out)?.[1] ?? NaN)));
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  const latencies: number[] = [];
  try {
    for (let i = 0; i <= PUSHES; i++) {
      const stamp = new Promise<number>((resolve) => started.push(resolve));
      const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ push: { changes: [] } }) });
      const ackedAt = Date.now();
      if (res.status !== 202) throw new Error(`baseline answered ${res.status}`);
      const at = await stamp;
      if (i > 0) latencies.push(at - ackedAt);
    }
  } finally {
    server.close();
  }
  return latencies;
}

export const pushToStep: Benchmark = {
  name: "push-to-step",
  title: `push acknowledged → first step's first command, median over ${PUSHES} pushes (sqlite, in-process runner, git over HTTP) vs answer-then-spawn-bash`,
  async run() {
    const baseline = await measureBaseline();
    const service = await measureService();
    const base = Math.max(1, median(baseline));
    const ours = median(service);
    return {
      figures: [
        { label: "baseline median (202 then spawn bash)", value: fmt.ms(median(baseline)) },
        { label: "service median", value: fmt.ms(ours) },
        { label: "service p90", value: fmt.ms(p90(service)) },
        { label: "service / baseline (medians)", value: fmt.ratio(ours / base) },
      ],
      checks: [atMost("median push → first step", ours, TARGET_MS, fmt.ms)],
    };
  },
};
