import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import request from "supertest";
import type { JobSpec } from "../../src/runner/runner-protocol";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { buildReaches, installWorld, stepLog, type World } from "../support/build-world";
import { startTestServer, type TestServer } from "../support/test-server";
import { createRunnerToken, spawnRunner, type Child } from "../runner-api/support";

const FILE = `definitions:
  caches:
    deps: deps
pipelines:
  default:
    - step:
        name: Build
        caches: [deps]
        script:
          - mkdir -p dist deps && echo "made by $(hostname)-$BITBUCKET_BUILD_NUMBER" > dist/out.txt && echo "cache of build $BITBUCKET_BUILD_NUMBER" > deps/stamp
        artifacts: [dist/**]
    - step:
        name: Deploy
        trigger: manual
        caches: [deps]
        script:
          - cat dist/out.txt
          - cat deps/stamp
`;

/** PUT with a body of `size` bytes sent in pieces, answering status and body (a stream, like a runner's upload). */
function putStream(url: string, headers: Record<string, string>, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "PUT", headers: { ...headers, "Content-Type": "application/gzip" } }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    let sent = 0;
    const piece = Buffer.alloc(16 * 1024, 7);
    const write = () => {
      while (sent < size) {
        sent += piece.length;
        if (!req.write(piece)) return req.once("drain", write);
      }
      req.end();
    };
    write();
  });
}

/**
 * Two remote runners (`npm run runner` processes) against one server: a build resumed on the other runner gets its
 * artifacts and caches from the server; the runner API hands a job only its own build's artifacts and its own
 * application's caches.
 */
describe("artifacts and caches across remote runners", function () {
  this.timeout(120_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let tmp: string;
  const children: Child[] = [];
  let w: World;
  let buildId = 0;

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    // A short lease, so a lost runner's job is reaped within seconds.
    server = await startTestServer({ PIPELINES_IN_PROCESS_RUNNER: "false", PIPELINES_ARTIFACT_MAX_BYTES: "65536" }, { leaseMs: 3000 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "artifact-runners-"));
  });
  after(async () => {
    await Promise.all(children.map((c) => c.dispose()));
    await server?.stop();
    await bb?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const runner = (name: string, token: string) => {
    const child = spawnRunner({ server: server.url, token, name, stateDir: path.join(tmp, `state-${name}`), workDir: path.join(tmp, `work-${name}`) });
    children.push(child);
    return child;
  };

  it("the second step, started on another runner, gets the first step's artifacts and the cache runner A saved", async () => {
    const a = runner("box-a", await createRunnerToken(server.env, "runner-a"));
    w = await installWorld(bb, server, "two");
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": FILE }, message: "two runners" });
    const paused = await buildReaches(server, w.applicationId, commit.hash, ["PAUSED", "FAILED"], 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\nrunner A:\n${a.output()}`);
    });
    const first = await stepLog(server, paused.id, 0);
    assert.equal(paused.state, "PAUSED", `${first}\nrunner A:\n${a.output()}`);
    assert.match(first, /artifact "artifacts" uploaded: 1 file/);
    assert.match(first, /cache "deps" saved from deps/);
    buildId = paused.id;
    // Runner A goes away with everything on its disk; runner B has never seen this build.
    a.proc.kill("SIGTERM");
    assert.equal((await a.exited).code, 0, a.output());
    fs.rmSync(path.join(tmp, "work-box-a"), { recursive: true, force: true });
    const b = runner("box-b", await createRunnerToken(server.env, "runner-b"));

    await request(server.url).post(`/api/builds/${paused.id}/steps/1/run`).set("Authorization", w.auth()).expect(200);
    const done = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\nrunner B:\n${b.output()}`);
    });
    const second = await stepLog(server, done.id, 1);
    assert.equal(done.state, "SUCCESSFUL", `${second}\nrunner B:\n${b.output()}`);
    const steps = await server.storage.models.Step.findAll({ where: { buildId: done.id }, order: [["index", "ASC"]] });
    assert.deepEqual(steps.map((s) => s.runnerName), ["runner-a/box-a", "runner-b/box-b"]);
    assert.match(second, /artifact "artifacts" of step 1 restored/);
    assert.match(second, /^made by .*-1$/m);
    assert.match(second, /cache "deps" restored into deps/);
    assert.match(second, /^cache of build 1$/m);
    b.proc.kill("SIGTERM");
    assert.equal((await b.exited).code, 0, b.output());
  });

  it("a job reaped from a runner that went silent is run by another runner, which gets the earlier step's artifacts from the server", async () => {
    const a = runner("box-c", await createRunnerToken(server.env, "runner-c"));
    const w2 = await installWorld(bb, server, "reap");
    const { commit } = await bb.pushAndNotify(server.url, w2.clientKey, w2.workspace, w2.slug, { files: { "bitbucket-pipelines.yml": FILE }, message: "reaped" });
    const paused = await buildReaches(server, w2.applicationId, commit.hash, ["PAUSED", "FAILED"], 60_000);
    assert.equal(paused.state, "PAUSED", await stepLog(server, paused.id, 0));
    a.proc.kill("SIGTERM");
    assert.equal((await a.exited).code, 0, a.output());

    // A runner claims the manual step's job, starts the step, and is never heard of again.
    await request(server.url).post(`/api/builds/${paused.id}/steps/1/run`).set("Authorization", w2.auth()).expect(200);
    const lost = await createRunnerToken(server.env, "runner-lost");
    const claimed = await request(server.url).post("/runner/claim").set("Authorization", `Bearer ${lost}`).send({ name: "gone" }).expect(200);
    const spec = claimed.body as JobSpec;
    assert.equal(spec.startStep, 1);
    await request(server.url).post(`/runner/jobs/${spec.jobId}/steps/1/start`).set("Authorization", `Bearer ${lost}`).send({ leaseToken: spec.leaseToken }).expect(200);

    const b = runner("box-d", await createRunnerToken(server.env, "runner-d"));
    const done = await buildReaches(server, w2.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\nrunner D:\n${b.output()}`);
    });
    const second = await stepLog(server, done.id, 1);
    assert.equal(done.state, "SUCCESSFUL", `${second}\nrunner D:\n${b.output()}`);
    assert.equal(done.retries, 1, "the lost runner's job was reaped once");
    const steps = await server.storage.models.Step.findAll({ where: { buildId: done.id }, order: [["index", "ASC"]] });
    assert.deepEqual(steps.map((s) => s.runnerName), ["runner-c/box-c", "runner-d/box-d"]);
    assert.match(second, /artifact "artifacts" of step 1 restored/);
    assert.match(second, /^made by .*-1$/m);
    b.proc.kill("SIGTERM");
    assert.equal((await b.exited).code, 0, b.output());
  });

  it("runner API: a job of another tenant cannot read this build's artifact or this application's cache by id or name; uploads past the cap are refused and not kept", async () => {
    const artifact = await server.storage.models.Artifact.findOne({ where: { buildId } });
    assert.ok(artifact, "the first test left an artifact");
    const token = await createRunnerToken(server.env, "prober");
    const other = await installWorld(bb, server, "thief");
    // Its pipeline names the same cache: a cache is looked up by name under the job's own application only.
    const { commit } = await bb.pushAndNotify(server.url, other.clientKey, other.workspace, other.slug, { files: { "bitbucket-pipelines.yml": FILE }, message: "thief" });
    await buildReaches(server, other.applicationId, commit.hash, ["QUEUED"]);
    const claimed = await request(server.url).post("/runner/claim").set("Authorization", `Bearer ${token}`).send({ name: "probe" }).expect(200);
    const spec = claimed.body as JobSpec;
    assert.notEqual(spec.build.id, buildId);
    const job = `/runner/jobs/${spec.jobId}`;
    const as = (r: request.Test) => r.set("Authorization", `Bearer ${token}`).set("X-Lease-Token", spec.leaseToken);

    assert.deepEqual((await as(request(server.url).get(`${job}/artifacts`)).expect(200)).body, { artifacts: [] });
    await as(request(server.url).get(`${job}/artifacts/${artifact.id}`)).expect(404);
    await as(request(server.url).get(`${job}/cache?name=deps`)).expect(404);
    // Without the lease, or with another job's id, nothing.
    await request(server.url).get(`/runner/jobs/${spec.jobId}/artifacts/${artifact.id}`).set("Authorization", `Bearer ${token}`).set("X-Lease-Token", "x".repeat(40)).expect(409);
    await request(server.url).get(`/runner/jobs/${spec.jobId}/artifacts/${artifact.id}`).set("Authorization", `Bearer ${token}`).expect(400);

    // Past the cap (64 KiB here): 413 over-cap, no row, no blob left.
    const put = await putStream(`${server.url}${job}/steps/0/artifacts?name=big&type=shared`, { Authorization: `Bearer ${token}`, "X-Lease-Token": spec.leaseToken }, 300 * 1024);
    assert.equal(put.status, 413, put.body);
    assert.equal(JSON.parse(put.body).code, "over-cap");
    assert.match(JSON.parse(put.body).error, /larger than 64 KiB/);
    assert.equal(await server.storage.models.Artifact.count({ where: { buildId: spec.build.id } }), 0);
    assert.deepEqual(fs.readdirSync(path.join(server.config.storage.dir, ".incoming")), []);
    // Within it: stored, and then listed for this job only.
    const small = await putStream(`${server.url}${job}/steps/0/artifacts?name=small&type=shared`, { Authorization: `Bearer ${token}`, "X-Lease-Token": spec.leaseToken }, 16 * 1024);
    assert.equal(small.status, 200, small.body);
    assert.deepEqual(JSON.parse(small.body), { size: 16 * 1024 });
    const listed = (await as(request(server.url).get(`${job}/artifacts`)).expect(200)).body.artifacts as { name: string }[];
    assert.deepEqual(listed.map((x) => x.name), ["small"]);
  });
});
