import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Op } from "sequelize";
import { atLeast, atMost, fmt, type Benchmark } from "../lib/benchmark";
import { postgresSchema } from "../lib/postgres";
import { benchServiceEnv } from "../lib/service-env";
import { startBitbucketCloud, type BitbucketCloud } from "../../test/standin/cloud";
import { mintToken } from "../../test/support/connect-tokens";
import { spawnRunner, type Child } from "../../test/runner-api/support";
import { start, type RunningServer } from "../../src/server";
import { createLogger } from "../../src/log/logger";
import { createRunner } from "../../src/runner/runner-tokens";

/**
 * runners: builds whose one step is `sleep 2`, run by remote runner processes (`npm run runner`, the sandbox
 * executor, real HTTP to the web tier, real git checkouts from the Bitbucket stand-in) on Postgres. Throughput =
 * builds finished per second, from the moment the queued jobs are released to the runners (all of them started
 * and announced, idle) to the last build finished.
 *
 * Measured: 4 runner processes × 4 slots, 48 builds. Baseline in the same run: 1 runner × 1 slot, 6 builds.
 * Also counted: builds not SUCCESSFUL at the end (lost), and double runs — a job leased more than once, a build
 * retried, or a step whose log holds its marker more than once.
 */

const BASE_BUILDS = Number(process.env.BENCH_RUNNERS_BASE_BUILDS ?? 6);
const BUILDS = Number(process.env.BENCH_RUNNERS_BUILDS ?? 48);
const TARGET_RATIO = 12;
const PIPELINE = `pipelines:\n  default:\n    - step:\n        name: Sleep\n        script:\n          - sleep 2\n          - echo "RAN-$BITBUCKET_BUILD_NUMBER"\n`;

interface Phase {
  builds: number;
  seconds: number;
  /** CPU seconds per build: the runner processes with their children (git, the sandbox), and the web tier with the stand-in. */
  runnerCpu: number;
  serverCpu: number;
  lost: number;
  doubles: number;
  /** Mean seconds per build: claimed → step started (checkout, sandbox), the step, step ended → build finished. */
  split: [number, number, number];
}

/** CPU seconds a process and its waited-for children used so far (/proc/<pid>/stat: utime, stime, cutime, cstime). */
function processCpu(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / 100;
  } catch {
    return 0;
  }
}

async function waitFor<T>(what: string, check: () => Promise<T | null | undefined | false>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== null && v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Queues `builds` pushes (held back from the runners), starts the runners, releases the jobs, waits for the end. */
async function phase(server: RunningServer, bb: BitbucketCloud, w: { clientKey: string; applicationId: number }, tag: string, runners: number, slots: number, builds: number, tmp: string): Promise<Phase> {
  const { models } = server.storage;
  const commits: string[] = [];
  for (let i = 0; i < builds; i++) {
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, "bench", "app", { branch: `${tag}-${i}`, files: { "bitbucket-pipelines.yml": PIPELINE, "n.txt": `${tag} ${i}` }, message: `${tag} ${i}` });
    commits.push(commit.hash);
  }
  await waitFor(`${builds} queued builds`, async () => (await models.Build.count({ where: { applicationId: w.applicationId, commit: { [Op.in]: commits }, state: "QUEUED" } })) === builds, 60_000);
  // Held back (a state no claim takes) until every runner is up, so the runners' start is not measured.
  await models.Job.update({ state: "held" as never }, { where: { state: "queued" } });
  const children: Child[] = [];
  try {
    for (let r = 0; r < runners; r++) {
      const { token } = await createRunner(models, `${tag}-runner-${r}`);
      children.push(spawnRunner({ server: server.url, token, name: `box-${r}`, stateDir: path.join(tmp, `${tag}-${r}`, "state"), workDir: path.join(tmp, `${tag}-${r}`, "work"), args: ["--slots", String(slots)] }));
    }
    await waitFor(`${runners} runners announced`, async () => (await models.Runner.count({ where: { name: { [Op.like]: `${tag}-runner-%` }, slots } })) === runners, 120_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${children.map((c) => c.output().slice(-2000)).join("\n---\n")}`);
    });
    const cpu0 = children.map((c) => processCpu(c.pid));
    const server0 = process.cpuUsage();
    const t0 = Date.now();
    await models.Job.update({ state: "queued" }, { where: { state: "held" as never } });
    server.engine.ctx.notify?.jobQueued?.();
    const finished = await waitFor(`${builds} finished builds`, async () => {
      const done = await models.Build.findAll({ where: { applicationId: w.applicationId, commit: { [Op.in]: commits }, state: { [Op.in]: ["SUCCESSFUL", "FAILED", "STOPPED"] } } });
      return done.length === builds ? done : null;
    }, 300_000);
    const seconds = (Date.now() - t0) / 1000;
    const serverUsage = process.cpuUsage(server0);
    const serverCpu = (serverUsage.user + serverUsage.system) / 1e6 / builds;
    const runnerCpu = children.reduce((sum, c, i) => sum + processCpu(c.pid) - cpu0[i], 0) / builds;
    const lost = finished.filter((b) => b.state !== "SUCCESSFUL").length;
    const ids = finished.map((b) => b.id);
    const releasedTwice = await models.Job.count({ where: { buildId: { [Op.in]: ids }, attempts: { [Op.gt]: 1 } } });
    const retried = finished.filter((b) => b.retries > 0).length;
    let markedTwice = 0;
    const split: [number, number, number] = [0, 0, 0];
    for (const b of finished) {
      const step = await models.Step.findOne({ where: { buildId: b.id, index: 0 } });
      if (step?.startedAt && step.finishedAt && b.startedAt && b.finishedAt) {
        split[0] += (step.startedAt.getTime() - b.startedAt.getTime()) / 1000 / builds;
        split[1] += (step.finishedAt.getTime() - step.startedAt.getTime()) / 1000 / builds;
        split[2] += (b.finishedAt.getTime() - step.finishedAt.getTime()) / 1000 / builds;
      }
      const chunks = await models.LogChunk.findAll({ where: { stepId: step?.id ?? -1 }, order: [["offset", "ASC"]] });
      const marks = Buffer.concat(chunks.map((c) => c.data)).toString("utf8").split(`RAN-${b.number}`).length - 1;
      if (marks > 1) markedTwice++;
      if (marks === 0 && b.state === "SUCCESSFUL") throw new Error(`build ${b.id} succeeded without its step's output`);
    }
    return { builds, seconds, runnerCpu, serverCpu, lost, doubles: releasedTwice + retried + markedTwice, split };
  } finally {
    // SIGTERM: each runner stops and takes its sandboxes (disks, network namespaces) down before it exits.
    for (const c of children) c.proc.kill("SIGTERM");
    await Promise.race([Promise.all(children.map((c) => c.exited)), new Promise((r) => setTimeout(r, 30_000))]);
    await Promise.all(children.map((c) => c.dispose()));
  }
}

export const runners: Benchmark = {
  name: "runners",
  title: `throughput of ${BUILDS} \`sleep 2\` builds on 4 runner processes × 4 slots vs ${BASE_BUILDS} on 1 runner × 1 slot (Postgres, sandbox, HTTP)`,
  async run() {
    const pg = postgresSchema("bench_runners");
    const { env, dataDir } = benchServiceEnv("bench-runners", {
      DATABASE_URL: pg.url,
      PIPELINES_IN_PROCESS_RUNNER: "false",
      PIPELINES_CONCURRENCY_PER_TENANT: "64",
      LOG_LEVEL: "error",
    });
    const logLevel = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = "error";
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-runners-"));
    const bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    const server = await start(env, createLogger({ bench: "runners" }), { pollMs: 200 });
    try {
      await bb.createRepository("bench", "app");
      const inst = await bb.install(server.url, { workspace: "bench" });
      if (inst.status !== 204) throw new Error(`install answered ${inst.status}`);
      const token = mintToken({ clientKey: inst.clientKey, secret: bb.currentSecret(inst.clientKey) ?? inst.sharedSecret, context: true });
      const created = await fetch(`${server.url}/api/applications`, { method: "POST", headers: { Authorization: `JWT ${token}`, "Content-Type": "application/json" }, body: JSON.stringify({ repository: "bench/app" }) });
      if (created.status !== 201) throw new Error(`creating the application answered ${created.status}`);
      const { id: applicationId } = (await created.json()) as { id: number };
      const w = { clientKey: inst.clientKey, applicationId };

      const base = await phase(server, bb, w, "base", 1, 1, BASE_BUILDS, tmp);
      const many = await phase(server, bb, w, "many", 4, 4, BUILDS, tmp);
      const baseRate = base.builds / base.seconds;
      const rate = many.builds / many.seconds;
      return {
        figures: [
          { label: `baseline: 1 runner × 1 slot, ${base.builds} builds`, value: `${base.seconds.toFixed(1)} s, ${baseRate.toFixed(2)} builds/s` },
          { label: `4 runners × 4 slots, ${many.builds} builds`, value: `${many.seconds.toFixed(1)} s, ${rate.toFixed(2)} builds/s` },
          { label: "throughput ratio (ideal 16×)", value: fmt.ratio(rate / baseRate) },
          { label: "CPU per build, 1×1: runners (with git, sandbox) / web tier + stand-in", value: `${base.runnerCpu.toFixed(2)} s / ${base.serverCpu.toFixed(2)} s` },
          { label: "CPU per build, 4×4: runners (with git, sandbox) / web tier + stand-in", value: `${many.runnerCpu.toFixed(2)} s / ${many.serverCpu.toFixed(2)} s` },
          { label: "per build, 1×1: claimed → step starts / step / step ends → build done", value: base.split.map((x) => `${x.toFixed(2)} s`).join(" / ") },
          { label: "per build, 4×4: claimed → step starts / step / step ends → build done", value: many.split.map((x) => `${x.toFixed(2)} s`).join(" / ") },
          { label: "lost builds (baseline + measured)", value: String(base.lost + many.lost) },
          { label: "double runs (baseline + measured)", value: String(base.doubles + many.doubles) },
        ],
        checks: [
          atLeast("throughput 4×4 / 1×1", rate / baseRate, TARGET_RATIO, fmt.ratio),
          atMost("lost builds", base.lost + many.lost, 0, fmt.count),
          atMost("double runs", base.doubles + many.doubles, 0, fmt.count),
        ],
      };
    } finally {
      await server.stop();
      await bb.stop();
      await pg.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(tmp, { recursive: true, force: true });
      if (logLevel === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = logLevel;
    }
  },
};
