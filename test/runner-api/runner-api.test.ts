import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import request from "supertest";
import { main as runnerTokenMain } from "../../src/cli/runner-token";
import { HttpRunnerProtocol } from "../../src/runner/http-runner-protocol";
import { hashRunnerToken } from "../../src/runner/runner-tokens";
import { LeaseLostError, type JobSpec } from "../../src/runner/runner-protocol";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { buildReaches, eventually, installWorld, stepLog } from "../support/build-world";
import { startTestServer, type TestServer } from "../support/test-server";
import { createRunnerToken, spawnRunner, type Child } from "./support";

const PIPELINE = `pipelines:
  default:
    - step:
        name: Test
        script:
          - echo "remote runner building $BITBUCKET_BRANCH"
          - test -f README.md
`;

/** The runner API (/runner/…) and `npm run runner` against a server whose in-process runner is off. */
describe("runner API and a remote runner", function () {
  this.timeout(30_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let tmp: string;
  const children: Child[] = [];

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer({ PIPELINES_IN_PROCESS_RUNNER: "false" });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "runner-api-"));
  });
  after(async () => {
    await Promise.all(children.map((c) => c.dispose()));
    await server?.stop();
    await bb?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const cli = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runnerTokenMain(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }, server.env);
    return { code, out, err };
  };

  it("runner-token create prints the token once and stores only its hash; list never shows it; a second runner of that name is refused", async () => {
    const created = await cli(["create", "--name", "alpha"]);
    assert.equal(created.code, 0, created.err.join("\n"));
    assert.equal(created.out.length, 1);
    const token = created.out[0];
    assert.match(token, /^pplr_[A-Za-z0-9_-]{43}$/);
    assert.ok(!created.err.join("\n").includes(token), "the explanation on stderr does not repeat the token");
    const row = await server.storage.models.Runner.findOne({ where: { name: "alpha" } });
    assert.equal(row?.tokenHash, hashRunnerToken(token));

    const again = await cli(["create", "--name", "alpha"]);
    assert.equal(again.code, 2);
    assert.match(again.err.join("\n"), /exists already/);

    const list = await cli(["list"]);
    assert.equal(list.code, 0);
    assert.match(list.out.join("\n"), /alpha\s+\S+\s+never/);
    assert.ok(!list.out.join("\n").includes(token.slice(5, 20)));

    assert.equal((await cli(["create", "--name", "bad name"])).code, 2);
    assert.equal((await cli(["revoke", "--name", "nobody"])).code, 1);
  });

  it("401 (JSON) without a token, with a wrong one, and with a revoked one; GET /runner/me names the runner and marks it seen", async () => {
    const token = await createRunnerToken(server.env, "revokable");
    const api = request(server.url);
    const none = await api.post("/runner/claim").send({ name: "x" });
    assert.equal(none.status, 401);
    assert.match(none.body.error, /Authorization: Bearer/);
    assert.equal(none.headers["www-authenticate"], 'Bearer realm="pipelines-runner"');
    const wrong = await api.post("/runner/claim").set("Authorization", `Bearer pplr_${"A".repeat(43)}`).send({ name: "x" });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.error, /not known/);
    assert.equal((await api.get("/runner/me").set("Authorization", "Bearer not-even-a-token")).status, 401);

    const me = await api.get("/runner/me").set("Authorization", `Bearer ${token}`);
    assert.equal(me.status, 200);
    assert.deepEqual(me.body, { name: "revokable" });
    const row = await server.storage.models.Runner.findOne({ where: { name: "revokable" } });
    assert.ok(row?.lastSeenAt, "last seen is recorded");

    const revoked = await cli(["revoke", "--name", "revokable"]);
    assert.equal(revoked.code, 0);
    const after = await api.get("/runner/me").set("Authorization", `Bearer ${token}`);
    assert.equal(after.status, 401);
    assert.equal(after.headers["content-type"]?.split(";")[0], "application/json");
  });

  it("claim → 200 JobSpec with Cache-Control: no-store; bad input → 400/415; a stale lease → 409 lease-lost; log chunks stored once", async () => {
    const token = await createRunnerToken(server.env, "manual");
    const w = await installWorld(bb, server);
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, {
      files: { "bitbucket-pipelines.yml": PIPELINE, "README.md": "hello\n" },
      message: "Add pipeline",
    });
    await buildReaches(server, w.applicationId, commit.hash, ["QUEUED"]);
    const api = request(server.url);
    const auth = `Bearer ${token}`;

    assert.equal((await api.post("/runner/claim").set("Authorization", auth).send({ name: "bad name!" })).status, 400);
    assert.equal((await api.post("/runner/claim").set("Authorization", auth).set("Content-Type", "text/plain").send("{}")).status, 415);
    assert.equal((await api.post("/runner/claim").set("Authorization", auth).set("Content-Type", "application/json").send("{nope")).status, 400);

    const claimed = await api.post("/runner/claim").set("Authorization", auth).send({ name: "box-1" });
    assert.equal(claimed.status, 200);
    assert.equal(claimed.headers["cache-control"], "no-store");
    const spec = claimed.body as JobSpec;
    assert.equal(spec.build.commit, commit.hash);
    assert.ok(spec.clone?.extraHeader, "the spec carries the clone credentials");
    assert.ok(!server.logs.some((l) => l.includes(spec.leaseToken) || (spec.clone?.extraHeader && l.includes(spec.clone.extraHeader))), "nothing logged the spec");
    const job = await server.storage.models.Job.findByPk(spec.jobId);
    assert.equal(job?.leaseOwner, "manual/box-1");

    const nothing = await api.post("/runner/claim").set("Authorization", auth).send({ name: "box-1" });
    assert.equal(nothing.status, 204);

    const base = `/runner/jobs/${spec.jobId}`;
    const bad: Array<[string, string, object]> = [
      ["post", `/runner/jobs/abc/heartbeat`, { leaseToken: spec.leaseToken }],
      ["post", `/runner/jobs/0/heartbeat`, { leaseToken: spec.leaseToken }],
      ["post", `${base}/heartbeat`, {}],
      ["post", `${base}/heartbeat`, { leaseToken: "has spaces" }],
      ["post", `${base}/steps/-1/start`, { leaseToken: spec.leaseToken }],
      ["post", `${base}/steps/1.5/start`, { leaseToken: spec.leaseToken }],
      ["post", `${base}/steps/7/start`, { leaseToken: spec.leaseToken }],
      ["post", `${base}/steps/0/finish`, { leaseToken: spec.leaseToken, state: "BOGUS", exitCode: 0 }],
      ["post", `${base}/steps/0/finish`, { leaseToken: spec.leaseToken, state: "FAILED", exitCode: 1.5 }],
      ["post", `${base}/steps/0/finish`, { leaseToken: spec.leaseToken, state: "FAILED", exitCode: "1" }],
      ["post", `${base}/finish`, { leaseToken: spec.leaseToken, pausedAt: -1 }],
      ["post", `${base}/steps/0/test-report`, { leaseToken: spec.leaseToken }],
      ["post", `${base}/steps/0/test-report`, { leaseToken: spec.leaseToken, report: { files: 1, passed: -1, failed: 0, skipped: 0, failures: [], unreadable: 0 } }],
      ["post", `${base}/steps/0/test-report`, { leaseToken: spec.leaseToken, report: { files: 1, passed: 1, failed: 0, skipped: 0, failures: "none", unreadable: 0 } }],
      ["post", `${base}/steps/0/test-report`, { leaseToken: spec.leaseToken, report: { files: 1, passed: 1, failed: 1, skipped: 0, failures: [{ suite: "s", name: 3, message: "m", output: "" }], unreadable: 0 } }],
    ];
    for (const [method, url, body] of bad) {
      const res = await (method === "post" ? api.post(url) : api.put(url)).set("Authorization", auth).send(body);
      assert.equal(res.status, 400, `${method} ${url} ${JSON.stringify(body)} → ${res.status} ${res.text}`);
      assert.equal(typeof res.body.error, "string");
    }
    const log = (offset: string | null, data: Buffer | string, type = "application/octet-stream", lease = spec.leaseToken) => {
      const r = api.put(`${base}/steps/0/log${offset === null ? "" : `?offset=${offset}`}`).set("Authorization", auth).set("X-Lease-Token", lease).set("Content-Type", type);
      return r.send(data);
    };
    assert.equal((await log(null, Buffer.from("x"))).status, 400);
    assert.equal((await log("-3", Buffer.from("x"))).status, 400);
    assert.equal((await log("0", "x", "text/plain")).status, 415);
    assert.equal((await log("0", Buffer.alloc(0))).status, 400);
    assert.equal((await log("0", Buffer.alloc(1024 * 1024 + 1, 97))).status, 413);

    // A stale lease token: 409 with the code the runner recognises.
    const stale = await api.post(`${base}/heartbeat`).set("Authorization", auth).send({ leaseToken: "0".repeat(48) });
    assert.equal(stale.status, 409);
    assert.deepEqual(stale.body.code, "lease-lost");
    assert.equal((await log("0", Buffer.from("x"), "application/octet-stream", "f".repeat(48))).status, 409);

    // The HTTP client over the same API: the protocol end to end, a chunk sent twice stored once.
    const client = new HttpRunnerProtocol({ server: server.url, token });
    const lease = { jobId: spec.jobId, leaseToken: spec.leaseToken };
    assert.deepEqual(await client.heartbeat(lease), { stop: false });
    assert.deepEqual(await client.stepStarted(lease, 0), { stop: false });
    await client.appendLog(lease, 0, 0, Buffer.from("hello "));
    await client.appendLog(lease, 0, 0, Buffer.from("hello "));
    await client.appendLog(lease, 0, 6, Buffer.from("world\n"));
    // The step's test reports: stored per step (sent twice: the second replaces the first), output cut at 2,000 characters.
    const failure = { suite: "calc", name: "divides", message: "expected 2", output: "o".repeat(5000) };
    await client.testReport(lease, 0, { files: 1, passed: 1, failed: 1, skipped: 0, failures: [failure], unreadable: 0 });
    await client.testReport(lease, 0, { files: 2, passed: 3, failed: 2, skipped: 1, failures: [failure, { ...failure, name: "rounds" }], unreadable: 1 });
    await client.stepFinished(lease, 0, { state: "SUCCESSFUL", exitCode: 0 });
    await client.jobFinished(lease, {});
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL"]);
    assert.equal(await stepLog(server, build.id, 0), "hello world\n");
    const step = await server.storage.models.Step.findOne({ where: { buildId: build.id, index: 0 } });
    const reports = await server.storage.models.StepTestReport.findAll({ where: { stepId: step!.id } });
    assert.equal(reports.length, 1);
    assert.deepEqual([reports[0].files, reports[0].passed, reports[0].failed, reports[0].skipped, reports[0].unreadable], [2, 3, 2, 1, 1]);
    const stored = JSON.parse(reports[0].failures) as { name: string; output: string }[];
    assert.deepEqual(stored.map((f) => [f.name, f.output.length]), [["divides", 2000], ["rounds", 2000]]);
    const last = await server.storage.models.StatusOutbox.findOne({ where: { buildId: build.id }, order: [["id", "DESC"]] });
    assert.match(last?.description ?? "", /^1 step passed; 2 tests failed$/);

    // The job is over: its lease token is stale now.
    await assert.rejects(client.heartbeat(lease), LeaseLostError);
    const after = await api.post(`${base}/steps/0/start`).set("Authorization", auth).send({ leaseToken: spec.leaseToken });
    assert.equal(after.status, 409);
    assert.equal(after.body.code, "lease-lost");
  });

  it("`npm run runner` in its own process builds a push to SUCCESSFUL, statuses posted, and stops on SIGTERM", async () => {
    const token = await createRunnerToken(server.env, "remote-1");
    const runner = spawnRunner({ server: server.url, token, name: "box-a", stateDir: path.join(tmp, "state"), workDir: path.join(tmp, "work") });
    children.push(runner);
    const w = await installWorld(bb, server);
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, {
      files: { "bitbucket-pipelines.yml": PIPELINE, "README.md": "hello\n" },
      message: "Add pipeline",
    });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"], 25_000).catch((err: Error) => {
      throw new Error(`${err.message}\nrunner output:\n${runner.output()}`);
    });
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "SUCCESSFUL", `${log}\nrunner output:\n${runner.output()}`);
    assert.match(log, /remote runner building main/);
    const job = await server.storage.models.Job.findOne({ where: { buildId: build.id } });
    assert.equal(job?.leaseOwner, "remote-1/box-a");
    const history = await eventually("the SUCCESSFUL status", async () => {
      const h = bb.statusHistory(w.workspace, w.slug).filter((s) => s.commit === commit.hash);
      return h.some((s) => s.state === "SUCCESSFUL") ? h : undefined;
    });
    assert.deepEqual(history.map((s) => s.state), ["INPROGRESS", "SUCCESSFUL"]);
    assert.ok(!runner.output().includes(token), "the runner never prints its token");

    runner.proc.kill("SIGTERM");
    const exit = await runner.exited;
    assert.equal(exit.code, 0, runner.output());
  });

  it("the runner refuses a revoked token at start (exit 1)", async () => {
    const token = await createRunnerToken(server.env, "short-lived");
    assert.equal((await cli(["revoke", "--name", "short-lived"])).code, 0);
    const runner = spawnRunner({ server: server.url, token, name: "box-b", stateDir: path.join(tmp, "state-b"), workDir: path.join(tmp, "work-b") });
    children.push(runner);
    const exit = await runner.exited;
    assert.equal(exit.code, 1, runner.output());
    assert.match(runner.output(), /refused the runner token \(HTTP 401/);
    assert.ok(!runner.output().includes(token));
  });
});
