import assert from "node:assert/strict";
import type { BitbucketCloud } from "../standin/cloud";
import type { TestServer } from "../support/test-server";
import { buildReaches, eventually, installWorld, withStandinAndServer } from "../support/build-world";
import { processesMatching } from "../support/processes";

/** A background sleep the test finds from the outside by its unusual argument. */
const marker = `60.${process.pid}`;
const SLOW = `pipelines:\n  default:\n    - step:\n        name: Slow\n        script:\n          - sleep ${marker} & wait\n`;
const FAST = "pipelines:\n  default:\n    - step:\n        name: Fast\n        script:\n          - echo fast\n";
const DEPLOY = "pipelines:\n  default:\n    - step:\n        name: Deploy\n        deployment: production\n        script:\n          - sleep 2\n          - echo deployed\n";

describe("auto-cancel and commit statuses", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  withStandinAndServer((b, s) => ((bb = b), (server = s)));

  it("a new push to a branch stops the running build of the older commit: STOPPED, its process gone, status STOPPED", async () => {
    const w = await installWorld(bb, server);
    const first = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": SLOW }, message: "slow" });
    const old = await buildReaches(server, w.applicationId, first.commit.hash, ["RUNNING"]);
    await eventually("the slow step running", async () => (await server.storage.models.Step.findOne({ where: { buildId: old.id, index: 0 } }))?.state === "RUNNING");
    const sleeper = await eventually("the step's background process", async () => processesMatching(`sleep ${marker}`)[0]);
    const second = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": FAST }, message: "fast" });
    const stopped = await buildReaches(server, w.applicationId, first.commit.hash, ["STOPPED"]);
    assert.match(stopped.stateReason ?? "", /superseded by #2/);
    const newer = await buildReaches(server, w.applicationId, second.commit.hash, ["SUCCESSFUL"], 30_000);
    assert.equal(newer.number, 2);
    const step = await eventually("the old step stopped", async () => {
      const s = await server.storage.models.Step.findOne({ where: { buildId: old.id, index: 0 } });
      return s?.state === "STOPPED" ? s : undefined;
    });
    assert.ok(step.finishedAt);
    await eventually("the step's background process gone", async () => !processesMatching(`sleep ${marker}`).includes(sleeper), 5000);
    await eventually("STOPPED status of the old commit", async () => bb.statuses(w.workspace, w.slug, first.commit.hash).find((s) => s.state === "STOPPED"));
  });

  it("never interrupts a running deployment step", async () => {
    const w = await installWorld(bb, server);
    const first = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": DEPLOY }, message: "deploy" });
    const running = await buildReaches(server, w.applicationId, first.commit.hash, ["RUNNING"]);
    await eventually("the deployment step running", async () => (await server.storage.models.Step.findOne({ where: { buildId: running.id, index: 0 } }))?.state === "RUNNING");
    const second = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": FAST }, message: "next" });
    const deployed = await buildReaches(server, w.applicationId, first.commit.hash, ["SUCCESSFUL", "STOPPED", "FAILED"]);
    assert.equal(deployed.state, "SUCCESSFUL");
    await buildReaches(server, w.applicationId, second.commit.hash, ["SUCCESSFUL"]);
  });

  it("Bitbucket answering 500 and then 429 with Retry-After: every status is delivered once it recovers", async () => {
    const w = await installWorld(bb, server);
    const statusPath = new RegExp(`/2\\.0/repositories/${w.workspace}/${w.slug}/commit/[0-9a-f]+/statuses/build`);
    // The first two posts get 500, the next two 429 with Retry-After: 1.
    bb.failNext({ server: "api", method: "POST", pathMatch: statusPath, times: 2, mode: { status: 500 } });
    bb.failNext({ server: "api", method: "POST", pathMatch: statusPath, times: 2, mode: { status: 429, retryAfterSeconds: 1 } });
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": FAST }, message: "flaky api" });
    await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL"]);
    const final = await eventually(
      "the SUCCESSFUL status delivered",
      async () => bb.statuses(w.workspace, w.slug, commit.hash).find((s) => s.state === "SUCCESSFUL"),
      30_000,
    );
    assert.equal(final.state, "SUCCESSFUL");
    const answered = bb.calls.filter((c) => statusPath.test(c.path)).map((c) => c.status);
    assert.ok(answered.filter((s) => s === 500).length === 2 && answered.filter((s) => s === 429).length === 2, answered.join(","));
    // The outbox row is marked delivered just after Bitbucket answered.
    await eventually("every outbox row settled", async () => {
      const rows = await server.storage.models.StatusOutbox.findAll({ where: { commit: commit.hash } });
      return rows.every((r) => r.status === "delivered" || r.status === "superseded");
    });
  });
});
