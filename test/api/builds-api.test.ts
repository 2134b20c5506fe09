import assert from "node:assert/strict";
import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud, type CommitResult } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { eventually, installWorld, type World } from "../support/build-world";
import { api, buildUntil, finished, type BuildBody } from "./api-support";

const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo "built $BITBUCKET_BRANCH at $BITBUCKET_COMMIT"
  branches:
    slow:
      - step:
          name: Slow
          script:
            - echo started
            - sleep 30
    manual:
      - step:
          name: First
          script:
            - echo first
      - step:
          name: Deploy
          trigger: manual
          deployment: production
          script:
            - echo "deployed to $BITBUCKET_DEPLOYMENT_ENVIRONMENT"
    big:
      - step:
          name: Big
          script:
            - for i in $(seq 1 100000); do echo "line $i of a long log"; done
    only-main-matters:
      - step:
          name: Never
          script:
            - "true"
  custom:
    deploy:
      - variables:
          - name: TARGET
            default: staging
            allowed-values: [staging, production]
          - name: NOTE
      - step:
          name: Deploy
          script:
            - echo "deploying to $TARGET ($NOTE)"
`;

/**
 * The build routes of the JSON API against real builds: the stand-in serves the repository, the in-process runner
 * runs the steps. Leases are short so a stopped build's runner learns within a second.
 */
describe("API: starting, reading, stopping and resuming builds", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  let w: World;
  let head: CommitResult;

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer({}, { leaseMs: 3000 });
    w = await installWorld(bb, server, "api");
    head = await bb.commit(w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": PIPELINE }, message: "Add pipeline" });
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  const start = (body: object) => api(server, w, "post", `/api/applications/${w.applicationId}/builds`).send(body);
  const logOf = (id: number, n: number) => api(server, w, "get", `/api/builds/${id}/steps/${n}/log`);

  it("POST a branch and commit → 201, the build runs; GET shows it with its steps and log", async () => {
    const res = await start({ branch: "main", commit: head.shortHash });
    assert.equal(res.status, 201, res.text);
    const created = res.body as BuildBody;
    assert.equal(created.commit, head.hash);
    assert.deepEqual(created.ref, { type: "branch", name: "main" });
    assert.equal(created.trigger, "manual");
    assert.equal(created.pipeline, "default");
    assert.equal(created.repository, `${w.workspace}/${w.slug}`);
    assert.deepEqual(created.steps.map((s) => [s.index, s.name, s.state]), [[0, "Build", "PENDING"]]);

    const done = await buildUntil(server, w, created.id, "finished", finished);
    assert.equal(done.state, "SUCCESSFUL", done.stateReason ?? "");
    assert.equal(done.steps[0].state, "SUCCESSFUL");
    assert.equal(done.steps[0].exitCode, 0);
    assert.ok(done.startedAt && done.finishedAt && typeof done.durationMs === "number" && done.durationMs >= 0);

    const log = await logOf(created.id, 0);
    assert.equal(log.status, 200);
    assert.match(log.headers["content-type"], /^text\/plain; charset=utf-8/);
    assert.equal(log.headers["x-log-complete"], "true");
    assert.match(log.text, new RegExp(`built main at ${head.hash}`));
    assert.equal(Buffer.byteLength(log.text), done.steps[0].logBytes);
  });

  // Needs CloudConnectForge.resolveCommit to accept a branch name: it answers the head, but the forge throws because
  // the full hash does not start with "main" (see the API report).
  it("POST a branch alone builds the branch's head, resolved through Bitbucket", async () => {
    const res = await start({ branch: "main" });
    assert.equal(res.status, 201, res.text);
    assert.equal((res.body as BuildBody).commit, head.hash);
    await buildUntil(server, w, res.body.id as number, "finished", finished);
  });

  it("refuses bodies it cannot build: 400 for the shape, 422 for no pipeline or an unknown branch, 503 when Bitbucket is down", async () => {
    for (const body of [{}, { branch: "-x" }, { branch: "a b" }, { commit: "xyz" }, { commit: head.hash }, { branch: "main", pipeline: "default" }, { branch: "main", variables: { A: "1" } }, { branch: "main", pipeline: "custom:deploy", variables: { TARGET: 1 } }]) {
      const res = await start(body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
    }
    const none = await start({ branch: "main", commit: head.hash, pipeline: "custom:nope" });
    assert.equal(none.status, 422);
    assert.match(none.body.error, /custom pipeline "nope"/);
    assert.equal((await start({ branch: "no-such-branch" })).status, 422);

    bb.failNext({ server: "api", method: "GET", pathMatch: /\/commit\//, mode: { status: 500 } });
    const down = await start({ branch: "main", commit: head.hash });
    assert.equal(down.status, 503, down.text);
    assert.ok(down.headers["retry-after"]);
  });

  it("serves Range requests of a long log from the chunks that hold them", async () => {
    const res = await start({ branch: "big", commit: head.hash });
    const done = await buildUntil(server, w, res.body.id as number, "finished", finished);
    assert.equal(done.state, "SUCCESSFUL", done.stateReason ?? "");
    const full = Buffer.from((await logOf(done.id, 0)).text);
    const total = done.steps[0].logBytes;
    assert.equal(full.length, total);
    assert.ok(total > 200_000, "several chunks");
    const chunks = await server.storage.models.LogChunk.count({ where: { stepId: (await server.storage.models.Step.findOne({ where: { buildId: done.id } }))!.id } });
    assert.ok(chunks > 2, `${chunks} chunks`);

    const ranged = async (range: string) => {
      const r = await logOf(done.id, 0).set("Range", range).buffer(true).parse((resp, cb) => {
        const parts: Buffer[] = [];
        resp.on("data", (d: Buffer) => parts.push(d));
        resp.on("end", () => cb(null, Buffer.concat(parts)));
      });
      return r;
    };
    // A small range reads only the chunk(s) holding it.
    let loaded = 0;
    const LogChunk = server.storage.models.LogChunk;
    LogChunk.addHook("afterFind", "count-bytes", (found) => {
      for (const c of ([] as { data?: Buffer }[]).concat((found ?? []) as never)) loaded += c.data?.length ?? 0;
    });
    const small = await ranged("bytes=150000-150009");
    LogChunk.removeHook("afterFind", "count-bytes");
    assert.ok((small.body as Buffer).equals(full.subarray(150000, 150010)));
    const stepId = (await server.storage.models.Step.findOne({ where: { buildId: done.id } }))!.id;
    const largest = Math.max(...(await LogChunk.findAll({ where: { stepId } })).map((c) => c.data.length));
    assert.ok(loaded > 0 && loaded <= 2 * largest && loaded < total / 4, `${loaded} bytes of log read for 10 (chunks up to ${largest}, log ${total})`);

    const mid = await ranged("bytes=100000-165535");
    assert.equal(mid.status, 206);
    assert.equal(mid.headers["content-range"], `bytes 100000-165535/${total}`);
    assert.ok((mid.body as Buffer).equals(full.subarray(100000, 165536)));
    const open = await ranged(`bytes=${total - 10}-`);
    assert.equal(open.status, 206);
    assert.ok((open.body as Buffer).equals(full.subarray(total - 10)));
    const suffix = await ranged("bytes=-5");
    assert.equal(suffix.headers["content-range"], `bytes ${total - 5}-${total - 1}/${total}`);
    assert.ok((suffix.body as Buffer).equals(full.subarray(total - 5)));
    const clipped = await ranged(`bytes=0-${total + 100}`);
    assert.equal(clipped.status, 206);
    assert.equal((clipped.body as Buffer).length, total);

    for (const bad of [`bytes=${total}-`, "bytes=5-2", "bytes=0-1,4-5", "bytes=-0"]) {
      const r = await logOf(done.id, 0).set("Range", bad);
      assert.equal(r.status, 416, bad);
      assert.equal(r.headers["content-range"], `bytes */${total}`);
      assert.equal(r.headers["x-log-complete"], "true");
    }
    assert.equal((await logOf(done.id, 0).set("Range", "lines=1-2")).status, 200, "another unit is ignored");
    assert.equal((await logOf(done.id, 1)).status, 404);
  });

  it("cancel stops a running step; Bitbucket gets STOPPED; a finished build cannot be cancelled (409)", async () => {
    const res = await start({ branch: "slow", commit: head.hash });
    const id = res.body.id as number;
    const running = await buildUntil(server, w, id, "its step running", (b) => b.steps[0].state === "RUNNING");
    const live = await logOf(id, 0);
    assert.equal(live.headers["x-log-complete"], "false");
    assert.equal((await api(server, w, "post", `/api/builds/${id}/rerun`)).status, 409, "a running build is not rerun");

    const t0 = Date.now();
    const cancel = await api(server, w, "post", `/api/builds/${id}/cancel`);
    assert.equal(cancel.status, 200, cancel.text);
    assert.equal(cancel.body.state, "STOPPED");
    assert.equal(cancel.body.stateReason, "stopped by a user");
    const stopped = await buildUntil(server, w, id, "its step stopped", (b) => b.steps[0].state === "STOPPED", 10_000);
    assert.ok(Date.now() - t0 < 8000, "the sleep was interrupted");
    assert.equal(stopped.state, "STOPPED");
    const status = await eventually("the STOPPED status", async () => bb.statuses(w.workspace, w.slug, head.hash).find((s) => s.state === "STOPPED" && s.name?.includes(`#${running.number}`)));
    assert.equal(status.description, "stopped by a user");
    assert.equal((await logOf(id, 0)).headers["x-log-complete"], "true");

    const again = await api(server, w, "post", `/api/builds/${id}/cancel`);
    assert.equal(again.status, 409);
  });

  it("a manual step pauses the build; running it finishes the build", async () => {
    const res = await start({ branch: "manual", commit: head.hash });
    const id = res.body.id as number;
    const paused = await buildUntil(server, w, id, "paused", (b) => b.state === "PAUSED" || finished(b));
    assert.equal(paused.state, "PAUSED", paused.stateReason ?? "");
    assert.deepEqual(paused.steps.map((s) => [s.state, s.manual, s.deployment]), [["SUCCESSFUL", false, null], ["WAITING", true, "production"]]);

    assert.equal((await api(server, w, "post", `/api/builds/${id}/steps/0/run`)).status, 409, "step 0 is not waiting");
    assert.equal((await api(server, w, "post", `/api/builds/${id}/steps/7/run`)).status, 404);
    const run = await api(server, w, "post", `/api/builds/${id}/steps/1/run`);
    assert.equal(run.status, 200, run.text);
    assert.equal(run.body.state, "QUEUED");
    assert.equal((run.body as BuildBody).steps[1].state, "PENDING");
    assert.equal((await api(server, w, "post", `/api/builds/${id}/steps/1/run`)).status, 409, "only once");

    const done = await buildUntil(server, w, id, "finished", finished);
    assert.equal(done.state, "SUCCESSFUL", done.stateReason ?? "");
    assert.deepEqual(done.steps.map((s) => s.state), ["SUCCESSFUL", "SUCCESSFUL"]);
    assert.match((await logOf(id, 1)).text, /deployed to production/);
    const history = bb.statusHistory(w.workspace, w.slug).filter((s) => s.commit === head.hash && s.name?.includes(`#${paused.number} `));
    assert.deepEqual(history.map((s) => s.state).slice(-1), ["SUCCESSFUL"]);
    assert.ok(history.some((s) => s.state === "INPROGRESS" && /manual step "Deploy"/.test(s.description ?? "")), JSON.stringify(history));
  });

  it("a custom pipeline runs with its variables; values outside allowed-values and unknown names are refused", async () => {
    const refused = await start({ branch: "main", commit: head.hash, pipeline: "custom:deploy", variables: { TARGET: "moon" } });
    assert.equal(refused.status, 400);
    assert.match(refused.body.error, /TARGET may not be "moon".*"staging", "production"/);
    const unknown = await start({ branch: "main", commit: head.hash, pipeline: "custom:deploy", variables: { TARGTE: "production" } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error, /no variable TARGTE/);

    const res = await start({ branch: "main", commit: head.hash, pipeline: "custom: deploy", variables: { TARGET: "production", NOTE: "by hand" } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.pipeline, "custom: deploy");
    const done = await buildUntil(server, w, res.body.id as number, "finished", finished);
    assert.equal(done.state, "SUCCESSFUL", done.stateReason ?? "");
    assert.match((await logOf(done.id, 0)).text, /deploying to production \(by hand\)/);

    // Defaults are filled in (recorded with the build; not run again here).
    const defaults = await start({ commit: head.hash, pipeline: "custom:deploy" });
    assert.equal(defaults.status, 201, defaults.text);
    assert.deepEqual(defaults.body.ref, { type: "branch", name: "" });
    const stored = await server.storage.models.Build.findByPk(defaults.body.id as number);
    assert.deepEqual(JSON.parse(stored?.variables ?? "null"), { TARGET: "staging", NOTE: "" });
    await buildUntil(server, w, defaults.body.id as number, "finished", finished);
  });

  it("rerun makes a new build of the same commit, ref and pipeline", async () => {
    const first = await start({ branch: "main", commit: head.hash, pipeline: "custom:deploy", variables: { TARGET: "production", NOTE: "again" } });
    const original = await buildUntil(server, w, first.body.id as number, "finished", finished);
    const res = await api(server, w, "post", `/api/builds/${original.id}/rerun`);
    assert.equal(res.status, 201, res.text);
    const rerun = res.body as BuildBody;
    assert.notEqual(rerun.id, original.id);
    assert.equal(rerun.number, original.number + 1);
    assert.equal(rerun.trigger, "rerun");
    assert.equal(rerun.rerunOf, original.id);
    assert.equal(rerun.commit, original.commit);
    assert.deepEqual(rerun.ref, original.ref);
    assert.equal(rerun.pipeline, original.pipeline);
    const done = await buildUntil(server, w, rerun.id, "finished", finished);
    assert.equal(done.state, "SUCCESSFUL");
    assert.match((await logOf(done.id, 0)).text, /deploying to production \(again\)/);
  });

  it("decisions: per delivery, newest first, including those from before the repository was an application", async () => {
    const other = await bb.createRepository(w.workspace, "other");
    const early = await bb.pushAndNotify(server.url, w.clientKey, other.workspace, other.slug, { files: { "README.md": "hi\n" }, message: "first" });
    const skipped = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "README.md": "x\n" }, message: "docs [skip ci]" });
    const decided = (id: string) => server.storage.models.Delivery.findOne({ where: { deliveryId: id, status: "processed" } });
    await eventually("both deliveries processed", async () => (await decided(early.delivery.requestUuid)) && (await decided(skipped.delivery.requestUuid)));

    const mine = await api(server, w, "get", `/api/applications/${w.applicationId}/decisions`);
    assert.equal(mine.status, 200);
    assert.deepEqual(
      mine.body.values.map((d: Record<string, unknown>) => [d.deliveryId, d.event, d.outcome, d.ref, d.commit]),
      [[skipped.delivery.requestUuid, "repo:push", "skipped", "branch:main", skipped.commit.hash]],
    );
    assert.ok(mine.body.values[0].receivedAt);

    const created = await request(server.url).post("/api/applications").set("Authorization", w.auth()).send({ repository: `${other.workspace}/${other.slug}` });
    assert.equal(created.status, 201);
    const later = await bb.pushAndNotify(server.url, w.clientKey, other.workspace, other.slug, { files: { "README.md": "again\n" }, message: "second [skip ci]" });
    await eventually("processed", () => decided(later.delivery.requestUuid));
    const page1 = await api(server, w, "get", `/api/applications/${created.body.id}/decisions?limit=1`);
    assert.deepEqual(page1.body.values.map((d: Record<string, unknown>) => [d.deliveryId, d.outcome]), [[later.delivery.requestUuid, "skipped"]]);
    const page2 = await api(server, w, "get", `/api/applications/${created.body.id}/decisions?limit=1&cursor=${page1.body.next}`);
    assert.deepEqual(page2.body.values.map((d: Record<string, unknown>) => [d.deliveryId, d.outcome, d.buildId]), [[early.delivery.requestUuid, "not-an-application", null]]);
    assert.equal(page2.body.next, null);
    assert.equal((await api(server, w, "get", `/api/applications/${created.body.id}/decisions?cursor=bad`)).status, 400);
  });
});
