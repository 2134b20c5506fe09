import assert from "node:assert/strict";
import type { BitbucketCloud } from "../standin/cloud";
import type { TestServer } from "../support/test-server";
import { buildReaches, eventually, installWorld, stepLog, withStandinAndServer } from "../support/build-world";

const PIPELINE = `pipelines:
  default:
    - step:
        name: Test
        script:
          - echo "building $BITBUCKET_BRANCH at $BITBUCKET_COMMIT"
          - test -f README.md
`;

/** A push in the stand-in becomes a build that clones, runs the steps and reports commit statuses. */
describe("builds on push (Connect, through the stand-in)", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  withStandinAndServer((b, s) => ((bb = b), (server = s)));

  it("push → clone over HTTP with the JWT-grant token → step runs → INPROGRESS then SUCCESSFUL", async () => {
    const w = await installWorld(bb, server);
    const { commit, delivery } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, {
      files: { "bitbucket-pipelines.yml": PIPELINE, "README.md": "hello\n" },
      message: "Add pipeline",
    });
    assert.equal(delivery.status, 202);
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "SUCCESSFUL", log);
    assert.match(log, new RegExp(`building main at ${commit.hash}`));
    const history = await eventually("the SUCCESSFUL status", async () => {
      const h = bb.statusHistory(w.workspace, w.slug).filter((s) => s.commit === commit.hash);
      return h.some((s) => s.state === "SUCCESSFUL") ? h : undefined;
    });
    assert.deepEqual(history.map((s) => s.state), ["INPROGRESS", "SUCCESSFUL"]);
    assert.ok(history[0].key.length <= 40);
    const gitCalls = bb.gitCalls.filter((c) => c.path.includes(`/${w.workspace}/${w.slug}.git`));
    assert.ok(gitCalls.length > 0 && gitCalls.every((c) => c.auth === "basic" && c.status === 200), "git was fetched with the token (x-token-auth) in a header");
  });

  it("a failing script → FAILED naming the step, and the status says so", async () => {
    const w = await installWorld(bb, server);
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, {
      files: { "bitbucket-pipelines.yml": "pipelines:\n  default:\n    - step:\n        name: Lint\n        script:\n          - exit 3\n    - step:\n        name: Never\n        script:\n          - echo no\n" },
      message: "fails",
    });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    assert.equal(build.state, "FAILED");
    assert.equal(build.stateReason, 'step "Lint" failed with exit code 3');
    const steps = await server.storage.models.Step.findAll({ where: { buildId: build.id }, order: [["index", "ASC"]] });
    assert.deepEqual(steps.map((s) => s.state), ["FAILED", "NOT_RUN"]);
    const final = await eventually("the FAILED status", async () => bb.statuses(w.workspace, w.slug, commit.hash).find((s) => s.state === "FAILED"));
    assert.match(final.description ?? "", /Lint/);
  });

  it("a broken pipeline file fails the build with a log naming the line", async () => {
    const w = await installWorld(bb, server);
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, {
      files: { "bitbucket-pipelines.yml": "pipelines:\n  default:\n    - step:\n        script: [\n" },
      message: "broken",
    });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["FAILED"]);
    const log = await stepLog(server, build.id, 0);
    assert.match(log, /bitbucket-pipelines\.yml:\d+:\d+/);
  });
});
