import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import express from "express";
import request from "supertest";
import { main as runnersMain } from "../../src/cli/runners";
import { errorHandler } from "../../src/http/error-handler";
import { createLogger } from "../../src/log/logger";
import { adminAuth } from "../../src/web/admin/admin-auth";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { buildReaches, eventually, installWorld, stepLog, type World } from "../support/build-world";
import { startTestServer, type TestServer } from "../support/test-server";
import { createRunnerToken, spawnRunner, type Child } from "./support";

const ADMIN_TOKEN = "admin-token-for-the-runners-page-0123456789";

const pipeline = (runsOn: string[], script: string) => `pipelines:
  default:
    - step:
        name: Labelled
        runs-on:
${runsOn.map((l) => `          - ${l}`).join("\n")}
        script:
          - ${script}
`;

/**
 * Runner labels end to end: two `npm run runner` processes with different labels on one server (real HTTP, the
 * in-process runner off), each step taken only by the runner having its `runs-on` labels; a step no runner can
 * take waits saying so, then fails after the (short) queue timeout; the runners are listed with what they announced.
 */
describe("runner labels (runs-on) with two remote runners", function () {
  this.timeout(90_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let tmp: string;
  const children: Child[] = [];

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    // The reaper (which also looks for jobs nobody can take) ticks every 5 × pollMs.
    server = await startTestServer({ PIPELINES_IN_PROCESS_RUNNER: "false", PIPELINES_QUEUE_TIMEOUT: "6s", PIPELINES_ADMIN_TOKEN: ADMIN_TOKEN }, { pollMs: 100 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "runner-labels-"));
    const gpuToken = await createRunnerToken(server.env, "gpu-runner");
    const armToken = await createRunnerToken(server.env, "arm-runner");
    const dirs = (n: string) => ({ stateDir: path.join(tmp, n, "state"), workDir: path.join(tmp, n, "work") });
    children.push(spawnRunner({ server: server.url, token: gpuToken, name: "box-gpu", ...dirs("gpu"), args: ["--labels", "gpu,Large"] }));
    children.push(spawnRunner({ server: server.url, token: armToken, name: "box-arm", ...dirs("arm"), args: ["--labels", "arm64", "--slots", "2"] }));
    // Both announced themselves (labels, version, slots) before any job is queued.
    await eventually("both runners announced", async () => {
      const rows = await server.storage.models.Runner.findAll({ where: { kind: "remote" } });
      return rows.length === 2 && rows.every((r) => r.labels !== null) ? rows : undefined;
    }, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${children.map((c) => c.output()).join("\n---\n")}`);
    });
  });
  after(async () => {
    // SIGTERM: each runner stops its steps and takes down its sandbox disks before it exits.
    for (const c of children) c.proc.kill("SIGTERM");
    await Promise.race([Promise.all(children.map((c) => c.exited)), new Promise((r) => setTimeout(r, 20_000))]);
    await Promise.all(children.map((c) => c.dispose()));
    await server?.stop();
    await bb?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const push = async (w: World, yml: string) => {
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": yml, "README.md": "hi\n" }, message: "labels" });
    return commit.hash;
  };
  const runnerOutput = () => children.map((c) => c.output()).join("\n---\n");

  it("routes each step to the runner having its labels, and lists both runners with their current jobs", async () => {
    const gpuWorld = await installWorld(bb, server, "gpu");
    const armWorld = await installWorld(bb, server, "arm");
    const plainWorld = await installWorld(bb, server, "plain");
    const gpuCommit = await push(gpuWorld, pipeline(["self.hosted", "linux", "gpu"], "sleep 3 && echo on-gpu"));
    const armCommit = await push(armWorld, pipeline(["arm64"], "echo on-arm"));
    const plainCommit = await push(plainWorld, "pipelines:\n  default:\n    - step:\n        script:\n          - echo anywhere\n");

    // While the gpu step runs, the listing shows it as the gpu runner's current job.
    const running = await buildReaches(server, gpuWorld.applicationId, gpuCommit, ["RUNNING"], 30_000);
    const out: string[] = [];
    const err: string[] = [];
    assert.equal(await runnersMain([], { out: (l) => out.push(l), err: (l) => err.push(l) }, server.env), 0, err.join("\n"));
    const text = out.join("\n");
    assert.match(out[0], /^Name\s+Kind\s+Labels\s+Version\s+Slots\s+Last heartbeat\s+Current jobs$/);
    const gpuLine = out.find((l) => l.startsWith("gpu-runner")) ?? "";
    const armLine = out.find((l) => l.startsWith("arm-runner")) ?? "";
    assert.match(gpuLine, /remote\s+gpu,large,linux,self\.hosted\s+0\.1\.0\s+1\s+\S+Z \(\d+ s ago\)/, text);
    assert.match(gpuLine, new RegExp(`job \\d+ \\(build ${running.id}\\)`), text);
    assert.match(armLine, /remote\s+arm64,linux,self\.hosted\s+0\.1\.0\s+2\s/, text);

    const gpuBuild = await buildReaches(server, gpuWorld.applicationId, gpuCommit, ["SUCCESSFUL", "FAILED"], 40_000);
    const armBuild = await buildReaches(server, armWorld.applicationId, armCommit, ["SUCCESSFUL", "FAILED"], 40_000);
    const plainBuild = await buildReaches(server, plainWorld.applicationId, plainCommit, ["SUCCESSFUL", "FAILED"], 40_000);
    for (const b of [gpuBuild, armBuild, plainBuild]) assert.equal(b.state, "SUCCESSFUL", `${await stepLog(server, b.id, 0)}\n${runnerOutput()}`);
    const ranOn = async (buildId: number) => (await server.storage.models.Step.findOne({ where: { buildId, index: 0 } }))?.runnerName;
    assert.equal(await ranOn(gpuBuild.id), "gpu-runner/box-gpu");
    assert.equal(await ranOn(armBuild.id), "arm-runner/box-arm");
    assert.match((await ranOn(plainBuild.id)) ?? "", /^(gpu-runner\/box-gpu|arm-runner\/box-arm)$/, "a step without runs-on goes to any runner");
    assert.match(await stepLog(server, gpuBuild.id, 0), /on-gpu/);
  });

  it("a build whose steps need different labels runs each on a runner having them: the job ends before the step that needs another", async () => {
    const w = await installWorld(bb, server, "mixed");
    const yml = `pipelines:
  default:
    - step:
        name: On gpu
        runs-on: [self.hosted, gpu]
        script:
          - echo step-a
    - step:
        name: On arm
        runs-on: [arm64]
        script:
          - echo step-b
    - step:
        name: Anywhere after
        script:
          - echo step-c
`;
    const commit = await push(w, yml);
    const build = await buildReaches(server, w.applicationId, commit, ["SUCCESSFUL", "FAILED"], 40_000);
    assert.equal(build.state, "SUCCESSFUL", `${build.stateReason}\n${runnerOutput()}`);
    const steps = await server.storage.models.Step.findAll({ where: { buildId: build.id }, order: [["index", "ASC"]] });
    assert.deepEqual(steps.map((st) => [st.state, st.runnerName]), [
      ["SUCCESSFUL", "gpu-runner/box-gpu"],
      ["SUCCESSFUL", "arm-runner/box-arm"],
      ["SUCCESSFUL", "arm-runner/box-arm"],
    ]);
    const jobs = await server.storage.models.Job.findAll({ where: { buildId: build.id }, order: [["id", "ASC"]] });
    assert.deepEqual(jobs.map((j) => [j.startStep, j.runsOn, j.state]), [
      [0, JSON.stringify(["gpu", "self.hosted"]), "done"],
      [1, JSON.stringify(["arm64"]), "done"],
    ]);
    assert.match(await stepLog(server, build.id, 1), /step-b/);
  });

  it("a step no runner can take waits with the labels on its build, then fails after the queue timeout with that message", async () => {
    const w = await installWorld(bb, server, "nobody");
    const commit = await push(w, pipeline(["self.hosted", "windows", "gpu"], "echo never"));
    const waiting = await eventually("the build says why it waits", async () => {
      const b = await buildReaches(server, w.applicationId, commit, ["QUEUED"], 5000);
      return b.stateReason ? b : undefined;
    }, 10_000);
    assert.equal(waiting.stateReason, "waiting: no runner with labels gpu, self.hosted, windows");
    // The build's page shows it (the JSON the page is made from).
    const api = await request(server.url).get(`/api/builds/${waiting.id}`).set("Authorization", w.auth());
    assert.equal(api.status, 200, api.text);
    assert.equal(api.body.stateReason, "waiting: no runner with labels gpu, self.hosted, windows");

    const failed = await buildReaches(server, w.applicationId, commit, ["FAILED"], 20_000);
    assert.ok(Date.now() - waiting.createdAt.getTime() >= 6000, "not before the queue timeout");
    assert.match(failed.stateReason ?? "", /^waiting: no runner with labels gpu, self\.hosted, windows \(none was connected within the queue timeout of 6 s\)$/);
    const step = await server.storage.models.Step.findOne({ where: { buildId: failed.id, index: 0 } });
    assert.equal(step?.state, "FAILED");
    assert.equal(step?.runnerName ?? null, null, "no runner ran it");
    assert.match(await stepLog(server, failed.id, 0), /^\[pipelines\] this step cannot run: waiting: no runner with labels gpu, self\.hosted, windows \(none was connected/);
    const statuses = await eventually("the FAILED status on Bitbucket", async () => {
      const h = bb.statusHistory(w.workspace, w.slug).filter((s) => s.commit === commit);
      return h.some((s) => s.state === "FAILED") ? h : undefined;
    });
    assert.match(statuses.find((s) => s.state === "FAILED")?.description ?? "", /no runner with labels gpu, self\.hosted, windows/);
    const job = await server.storage.models.Job.findOne({ where: { buildId: failed.id } });
    assert.equal(job?.state, "done");
    assert.equal(job?.attempts, 0, "never claimed");
  });

  it("the administrator's runners page needs PIPELINES_ADMIN_TOKEN (Basic or Bearer, never the URL) and lists the runners", async () => {
    const api = request(server.url);
    const none = await api.get("/admin/runners");
    assert.equal(none.status, 401);
    assert.match(none.headers["www-authenticate"] ?? "", /^Basic realm="pipelines-admin"/);
    assert.equal((await api.get("/admin/runners").auth("admin", "wrong-token-wrong-token-wrong")).status, 401);
    assert.equal((await api.get(`/admin/runners?token=${ADMIN_TOKEN}`)).status, 401);
    const page = await api.get("/admin/runners").auth("admin", ADMIN_TOKEN);
    assert.equal(page.status, 200);
    assert.match(page.headers["content-type"] ?? "", /text\/html/);
    assert.match(page.text, /data-runner="gpu-runner"/);
    assert.match(page.text, /arm64, linux, self\.hosted/);
    const json = await api.get("/admin/runners?format=json").set("Authorization", `Bearer ${ADMIN_TOKEN}`);
    assert.equal(json.status, 200);
    const names = (json.body.runners as { name: string; connected: boolean; slots: number }[]).map((r) => [r.name, r.connected, r.slots]);
    assert.deepEqual(names, [["arm-runner", true, 2], ["gpu-runner", true, 1]]);

    // Without the setting, the page does not exist.
    const app = express();
    app.get("/admin/runners", adminAuth(null), (_req, res) => void res.send("listed"));
    app.use(errorHandler(createLogger({ test: true })));
    assert.equal((await request(app).get("/admin/runners").set("Authorization", "Bearer anything-at-all-anything")).status, 404);
  });
});

describe("the in-process runner in the runners' listing", function () {
  this.timeout(60_000);

  it("is listed (kind in-process, its labels, version and slots) while its web process runs", async () => {
    const server = await startTestServer({ PIPELINES_RUNNER_LABELS: "docker", PIPELINES_RUNNER_SLOTS: "3" });
    try {
      const out: string[] = [];
      assert.equal(await runnersMain([], { out: (l) => out.push(l), err: () => undefined }, server.env), 0);
      const line = out.find((l) => l.startsWith("in-process@")) ?? "";
      assert.match(line, new RegExp(`^in-process@${os.hostname().replace(/[.]/g, "\\.")}:${process.pid}\\s+in-process\\s+docker,linux,self\\.hosted\\s+0\\.1\\.0\\s+3\\s+\\S+Z \\(\\d+ s ago\\)\\s+-$`), out.join("\n"));
      const row = await server.storage.models.Runner.findOne({ where: { kind: "in-process" } });
      assert.ok(row && !/^[0-9a-f]{64}$/.test(row.tokenHash), "its row holds no token hash: nothing can authenticate as it");
    } finally {
      await server.stop();
    }
  });
});
