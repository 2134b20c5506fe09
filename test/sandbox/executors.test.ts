import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { buildReaches, eventually, installWorld, stepLog } from "../support/build-world";
import { startTestServer, type TestServer } from "../support/test-server";
import { createRunnerToken, spawnRunner, type Child } from "../runner-api/support";
import { withContext } from "../pages/pages-support";

/** Which executor runs steps, and what a runner says when it cannot isolate them. */
describe("sandbox: choosing the executor", function () {
  this.timeout(60_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let tmp: string;
  const children: Child[] = [];

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer({ PIPELINES_IN_PROCESS_RUNNER: "false" });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "executors-"));
    fs.chmodSync(tmp, 0o777);
  });
  after(async () => {
    await Promise.all(children.map((c) => c.dispose()));
    await server?.stop();
    await bb?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const runner = (name: string, extra: { env?: Record<string, string>; uid?: number }, token: string) => {
    const child = spawnRunner({ server: server.url, token, name, stateDir: path.join(tmp, name, "state"), workDir: path.join(tmp, name, "work"), ...extra });
    children.push(child);
    return child;
  };

  it("a runner that cannot make the sandbox refuses to start, saying what is missing and how to fix it", async () => {
    const token = await createRunnerToken(server.env, "unprivileged");
    const child = runner("nobody", { uid: 65534 }, token);
    const { code } = await child.exited;
    assert.equal(code, 1, child.output());
    assert.match(child.output(), /the sandbox executor runs as root, to give each step its own uid, cgroup, network and filesystem \(this runner runs as uid 65534\)/);
    assert.match(child.output(), /PIPELINES_IN_PROCESS_RUNNER=false/);
  });

  it("refuses an executor it does not know, naming the setting", async () => {
    const token = await createRunnerToken(server.env, "typo");
    const child = runner("typo", { env: { PIPELINES_EXECUTOR: "docker" } }, token);
    const { code } = await child.exited;
    assert.equal(code, 2, child.output());
    assert.match(child.output(), /PIPELINES_EXECUTOR: must be sandbox, container or host \(got "docker"\)/);
  });

  it("the service refuses to run steps unisolated in its own process", async () => {
    await assert.rejects(startTestServer({ PIPELINES_EXECUTOR: "host" }), /PIPELINES_EXECUTOR=host runs steps without any isolation, as the service's own user: it is refused for the runner inside the web service/);
  });

  it("a remote runner with PIPELINES_EXECUTOR=host warns at start, and every step it runs says it ran without isolation", async () => {
    const token = await createRunnerToken(server.env, "trusted");
    const child = runner("box", { env: { PIPELINES_EXECUTOR: "host" } }, token);
    await eventually("the runner's warning", async () => /steps run WITHOUT ISOLATION/.test(child.output()));
    const w = await installWorld(bb, server);
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": "pipelines:\n  default:\n    - step:\n        script:\n          - echo hello\n" }, message: "host" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "SUCCESSFUL", log);
    assert.match(log, /\[pipelines\] executor: host — this step ran WITHOUT ISOLATION, as \S+ on runner box's own system/);
    const api = await request(server.url).get(`/api/builds/${build.id}`).set("Authorization", w.auth()).expect(200);
    assert.equal(api.body.steps[0].executor, "host");
    assert.equal(api.body.steps[0].runner, "trusted/box");
    const page = await withContext(server, w, "/fragments/builds", { repoPath: `${w.workspace}/${w.slug}`, build: String(build.id) }).expect(200);
    assert.match(page.text, /ran without isolation on runner trusted\/box/);
    child.proc.kill("SIGTERM");
    await child.exited;
  });
});

/** What the default executor refuses before a step starts. */
describe("sandbox: steps it cannot run as written", function () {
  this.timeout(60_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer({ PIPELINES_STEP_MEMORY: "64MiB", PIPELINES_STEP_MEMORY_MAX: "128MiB" });
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  it("a step whose size needs more memory than the runner allows fails before it starts, saying so", async () => {
    const w = await installWorld(bb, server);
    const file = "pipelines:\n  default:\n    - step:\n        size: 4x\n        script:\n          - echo never\n";
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "big" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "FAILED");
    assert.match(log, /size 4x needs 256 MiB of memory, and this runner gives a step at most 128 MiB \(PIPELINES_STEP_MEMORY_MAX\)/);
    assert.doesNotMatch(log, /\+ echo never/);
  });

  it("a pipe fails the step before it starts, naming the pipe and the executor that runs it", async () => {
    const w = await installWorld(bb, server);
    const file = "pipelines:\n  default:\n    - step:\n        script:\n          - echo before\n          - pipe: atlassian/aws-s3-deploy:1.1.0\n            variables:\n              S3_BUCKET: b\n";
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "pipe" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "FAILED");
    assert.match(log, /this step runs the pipe atlassian\/aws-s3-deploy:1\.1\.0: pipes are containers, and this runner's executor is "sandbox".*PIPELINES_EXECUTOR=container runs them/);
    assert.doesNotMatch(log, /\+ echo before/);
  });
});
