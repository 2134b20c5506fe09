import assert from "node:assert/strict";
import request from "supertest";
import type { BitbucketCloud } from "../standin/cloud";
import { buildReaches, eventually, installWorld, stepLog, withStandinAndServer } from "../support/build-world";
import type { TestServer } from "../support/test-server";

/** `output-variables` and `on-fail: {strategy: ignore}`, run as written. */
describe("output variables and failures a step ignores", function () {
  this.timeout(60_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  withStandinAndServer((b, s) => ((bb = b), (server = s)));

  it("passes a step's declared output variables to later steps (also after a manual step), never a secret", async () => {
    const w = await installWorld(bb, server);
    const secret = "s3cr3t-output-value";
    await request(server.url).put(`/api/applications/${w.applicationId}/variables/API_TOKEN`).set("Authorization", w.auth()).send({ value: secret, secured: true }).expect(204);
    const file = `pipelines:
  default:
    - step:
        name: Version
        output-variables: [VERSION, TOKEN_COPY]
        script:
          - echo "VERSION=1.2.3" >> $BITBUCKET_PIPELINES_VARIABLES_PATH
          - echo "TOKEN_COPY=x-$API_TOKEN" >> $BITBUCKET_PIPELINES_VARIABLES_PATH
          - echo "UNDECLARED=nope" >> $BITBUCKET_PIPELINES_VARIABLES_PATH
    - step:
        name: Use
        script:
          - echo "version [$VERSION] copy [$TOKEN_COPY] undeclared [$UNDECLARED]"
    - step:
        name: Release
        trigger: manual
        script:
          - echo "releasing $VERSION"
`;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "outputs" });
    const paused = await buildReaches(server, w.applicationId, commit.hash, ["PAUSED", "FAILED"]);
    assert.equal(paused.state, "PAUSED", await stepLog(server, paused.id, 1));
    const first = await stepLog(server, paused.id, 0);
    assert.match(first, /output variables for later steps: VERSION\n/);
    assert.match(first, /warning: output variable TOKEN_COPY is not passed on: its value holds a secret/);
    assert.doesNotMatch(first, new RegExp(secret));
    assert.match(await stepLog(server, paused.id, 1), /version \[1\.2\.3\] copy \[\] undeclared \[\]/);
    await request(server.url).post(`/api/builds/${paused.id}/steps/2/run`).set("Authorization", w.auth()).expect((r) => assert.ok(r.status < 300, r.text));
    const done = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    assert.equal(done.state, "SUCCESSFUL");
    assert.match(await stepLog(server, done.id, 2), /releasing 1\.2\.3/);
  });

  it("a failing step with on-fail: ignore is marked failed, the build goes on and succeeds, and the status says so", async () => {
    const w = await installWorld(bb, server);
    const file = `pipelines:
  default:
    - step:
        name: Flaky lint
        on-fail:
          strategy: ignore
        script:
          - exit 3
    - step:
        name: Build
        script:
          - echo built
`;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "ignore" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    assert.equal(build.state, "SUCCESSFUL", build.stateReason ?? "");
    const steps = await server.storage.models.Step.findAll({ where: { buildId: build.id }, order: [["index", "ASC"]] });
    assert.deepEqual(steps.map((s) => [s.state, s.exitCode]), [["FAILED", 3], ["SUCCESSFUL", 0]]);
    const status = await eventually("the SUCCESSFUL status", async () => bb.statuses(w.workspace, w.slug, commit.hash).find((s) => s.state === "SUCCESSFUL"));
    assert.match(status.description ?? "", /1 step passed, 1 failed \(on-fail: ignore\)/);
  });
});
