import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import request from "supertest";
import type { BitbucketCloud } from "../standin/cloud";
import type { TestServer } from "../support/test-server";
import { buildReaches, eventually, installWorld, stepLog, type World, withStandinAndServer } from "../support/build-world";

const OK_PIPELINE = "pipelines:\n  default:\n    - step:\n        name: Build\n        script:\n          - echo \"ref=$BITBUCKET_BRANCH$BITBUCKET_TAG\"\n  tags:\n    'v*':\n      - step:\n          name: Release\n          script:\n            - echo \"tag $BITBUCKET_TAG\"\n  pull-requests:\n    '**':\n      - step:\n          name: PR\n          script:\n            - echo \"pr $BITBUCKET_PR_ID into $BITBUCKET_PR_DESTINATION_BRANCH\"\n";

/** Deliveries → builds and decisions: the rules of the processor, end to end through the stand-in. */
describe("processor: deliveries become builds, exactly once, with a reason for everything", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  withStandinAndServer((b, s) => ((bb = b), (server = s)));

  const decisionsOf = (requestUuid: string) =>
    eventually(`decisions of ${requestUuid}`, async () => {
      const d = await server.storage.models.Delivery.findOne({ where: { deliveryId: requestUuid } });
      if (!d || d.status === "pending") return undefined;
      return server.storage.models.Decision.findAll({ where: { deliveryId: d.id }, order: [["id", "ASC"]] });
    });

  async function world(): Promise<World & { commit: string }> {
    const w = await installWorld(bb, server);
    const c = await bb.commit(w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": OK_PIPELINE }, message: "pipeline" });
    return { ...w, commit: c.hash };
  }

  it("a push with three changes makes three builds; a deleted branch builds nothing and says so", async () => {
    const w = await world();
    const a = await bb.commit(w.workspace, w.slug, { branch: "feature/a", from: "main", files: { a: "1" }, message: "a" });
    const b = await bb.commit(w.workspace, w.slug, { branch: "feature/b", from: "main", files: { b: "1" }, message: "b" });
    const t = await bb.commit(w.workspace, w.slug, { branch: "main", files: { t: "1" }, message: "release", tag: "v1.0" });
    const data = bb.pushPayload(`${w.workspace}/${w.slug}`, [
      { name: "feature/a", new: a.hash },
      { name: "feature/b", new: b.hash },
      { type: "tag", name: "v1.0", new: t.hash },
      { name: "gone", old: w.commit, new: null },
    ]);
    const delivery = await bb.sendWebhook(server.url, w.clientKey, "repo:push", data);
    assert.equal(delivery.status, 202);
    const decisions = await decisionsOf(delivery.requestUuid);
    assert.deepEqual(decisions.map((d) => d.outcome).sort(), ["built", "built", "built", "ignored"]);
    assert.match(decisions.find((d) => d.outcome === "ignored")?.reason ?? "", /branch "gone" was deleted/);
    const builds = await server.storage.models.Build.findAll({ where: { applicationId: w.applicationId }, order: [["number", "ASC"]] });
    assert.deepEqual(builds.map((x) => `${x.refType}:${x.refName}`).sort(), ["branch:feature/a", "branch:feature/b", "tag:v1.0"]);
    assert.deepEqual(builds.map((x) => x.number), [1, 2, 3], "build numbers per application");
    const tagBuild = await buildReaches(server, w.applicationId, t.hash, ["SUCCESSFUL"]);
    assert.equal(tagBuild.pipelineName, "tags: v*");
    assert.match(await stepLog(server, tagBuild.id, 0), /tag v1\.0/);
  });

  it("[skip ci] in the head commit message: no build, the reason stored", async () => {
    const w = await world();
    const { commit, delivery } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { x: "1" }, message: "Tidy up\n\nnothing to see [CI SKIP]" });
    const [decision] = await decisionsOf(delivery.requestUuid);
    assert.equal(decision.outcome, "skipped");
    assert.equal(decision.reason, 'commit message contains "[CI SKIP]"');
    assert.equal(decision.commit, commit.hash);
    assert.equal(await server.storage.models.Build.count({ where: { applicationId: w.applicationId } }), 0);
  });

  it("the same delivery three times makes one build", async () => {
    const w = await world();
    const data = bb.pushPayload(`${w.workspace}/${w.slug}`, [{ name: "main", old: null, new: w.commit }]);
    const requestUuid = `{${randomUUID()}}`;
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await bb.sendWebhook(server.url, w.clientKey, "repo:push", data, { requestUuid })).status);
    assert.deepEqual(answers, [202, 200, 200]);
    // And the same push under new delivery ids (Bitbucket sending it again) is the same build key.
    await bb.sendWebhook(server.url, w.clientKey, "repo:push", data);
    await buildReaches(server, w.applicationId, w.commit, ["SUCCESSFUL"]);
    await eventually("no pending deliveries", async () => (await server.storage.models.Delivery.count({ where: { status: "pending" } })) === 0);
    assert.equal(await server.storage.models.Build.count({ where: { applicationId: w.applicationId } }), 1);
  });

  it("ref names made to attack a shell or git execute nothing", async () => {
    const w = await world();
    const marker = path.join(os.tmpdir(), `pwned-${randomBytes(4).toString("hex")}`);
    // Valid git names (no spaces) that a careless runner would execute: built, but only ever passed as data.
    const sneaky = `x$(touch\${IFS}${marker})`;
    const c = await bb.commit(w.workspace, w.slug, { branch: sneaky, from: "main", files: { y: "1" }, message: "sneaky" });
    const data = bb.pushPayload(`${w.workspace}/${w.slug}`, [
      { name: "--upload-pack=touch pwned", new: w.commit },
      { name: "$(touch pwned2)", new: w.commit },
      { type: "tag", name: ";touch pwned3", new: w.commit },
      { name: sneaky, new: c.hash },
    ]);
    const delivery = await bb.sendWebhook(server.url, w.clientKey, "repo:push", data);
    const decisions = await decisionsOf(delivery.requestUuid);
    assert.deepEqual(decisions.map((d) => d.outcome).sort(), ["built", "ignored", "ignored", "ignored"]);
    for (const d of decisions.filter((x) => x.outcome === "ignored")) assert.match(d.reason, /is not a safe git ref name/);
    const build = await buildReaches(server, w.applicationId, c.hash, ["SUCCESSFUL", "FAILED"]);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "SUCCESSFUL", log);
    assert.ok(log.includes(`ref=${sneaky}`), log);
    for (const name of ["pwned", "pwned2", "pwned3"]) {
      for (const dir of [process.cwd(), server.dataDir, os.tmpdir()]) assert.ok(!fs.existsSync(path.join(dir, name)), `${name} in ${dir}`);
    }
    assert.ok(!fs.existsSync(marker), "the branch name was executed");
  });

  it("records why nothing ran: no matching pipeline, auto-build off, branch filter, not an application", async () => {
    const w = await installWorld(bb, server);
    await bb.commit(w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": "pipelines:\n  branches:\n    main:\n      - step:\n          script: [echo main]\n" }, message: "only main" });
    const other = await bb.commit(w.workspace, w.slug, { branch: "topic", from: "main", files: { z: "1" }, message: "topic" });
    const push = (name: string, hash: string) => bb.sendWebhook(server.url, w.clientKey, "repo:push", bb.pushPayload(`${w.workspace}/${w.slug}`, [{ name, new: hash }]));
    const [none] = await decisionsOf((await push("topic", other.hash)).requestUuid);
    assert.equal(none.outcome, "no-pipeline");
    assert.match(none.reason, /no pipeline in bitbucket-pipelines\.yml matches branch "topic" and there is no default pipeline/);

    await request(server.url).patch(`/api/applications/${w.applicationId}`).set("Authorization", w.auth()).send({ branchFilter: "release/*" }).expect(200);
    const [filtered] = await decisionsOf((await push("topic", other.hash)).requestUuid);
    assert.equal(filtered.outcome, "branch-filter");
    await request(server.url).patch(`/api/applications/${w.applicationId}`).set("Authorization", w.auth()).send({ autoBuild: false }).expect(200);
    const [off] = await decisionsOf((await push("main", other.hash)).requestUuid);
    assert.equal(off.outcome, "auto-build-off");

    await bb.createRepository(w.workspace, "not-an-app");
    const notApp = await bb.sendWebhook(server.url, w.clientKey, "repo:push", bb.pushPayload(`${w.workspace}/not-an-app`, [{ name: "main", new: other.hash }]));
    const [na] = await decisionsOf(notApp.requestUuid);
    assert.equal(na.outcome, "not-an-application");
    assert.equal(await server.storage.models.Build.count({ where: { applicationId: w.applicationId } }), 0);
  });

  it("a pull request's 12-character hash is resolved before the build; merging stops its queued builds", async () => {
    const w = await world();
    const c = await bb.commit(w.workspace, w.slug, { branch: "feature/pr", from: "main", files: { p: "1" }, message: "pr work" });
    const pr = { id: 7, title: "Add p", source: { branch: "feature/pr", commit: c.hash }, destination: { branch: "main", commit: w.commit } };
    const created = await bb.sendPullRequest(server.url, w.clientKey, w.workspace, w.slug, pr, "pullrequest:created");
    assert.equal(created.status, 202);
    const build = await buildReaches(server, w.applicationId, c.hash, ["SUCCESSFUL", "FAILED"]);
    assert.equal(build.commit, c.hash, "the full 40-character commit");
    assert.equal(build.pullRequestId, 7);
    assert.match(await stepLog(server, build.id, 0), /pr 7 into main/);

    // A queued build of the PR (inserted as if the runner were busy) is stopped when the PR is merged.
    const queued = await server.storage.models.Build.create({
      tenantId: build.tenantId, applicationId: w.applicationId, number: 99, buildKey: `queued-${randomUUID()}`, trigger: "pull-request", refType: "pull-request",
      refName: "feature/pr", commit: c.hash, pullRequestId: 7, pipelineName: "pull-requests: **", pipelineKey: "pull-requests/**", state: "QUEUED",
    });
    const merged = await bb.sendPullRequest(server.url, w.clientKey, w.workspace, w.slug, pr, "pullrequest:fulfilled");
    const [d] = await decisionsOf(merged.requestUuid);
    assert.equal(d.outcome, "stopped");
    await queued.reload();
    assert.equal(queued.state, "STOPPED");
    assert.equal(queued.stateReason, "pull request #7 was merged");
  });
});
