import assert from "node:assert/strict";
import request from "supertest";
import type { BitbucketCloud } from "../standin/cloud";
import type { TestServer } from "../support/test-server";
import { buildReaches, installWorld, stepLog, withStandinAndServer } from "../support/build-world";
import type { Plan } from "../../src/pipelines";

/** What a bitbucket-pipelines.yml asks for, as the shell runner honours it (or says it cannot). */
describe("pipeline features on the shell runner", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  withStandinAndServer((b, s) => ((bb = b), (server = s)));

  // The plan hands the image and services to the runner as specs; which executor honours them, and the warning when
  // one cannot, are the runner's (issue 15). This test checks the plan's side; the runner's tests check the warning.
  it("image and services reach the build's plan as specs; after-script gets BITBUCKET_EXIT_CODE after a failure", async () => {
    const w = await installWorld(bb, server);
    const file = `image: node:20
pipelines:
  default:
    - step:
        name: Test
        services: [postgres]
        script:
          - echo running
          - exit 4
        after-script:
          - echo "after with $BITBUCKET_EXIT_CODE"
definitions:
  services:
    postgres:
      image: postgres:16
`;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "image" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    const log = await stepLog(server, build.id, 0);
    const lines = log.split("\n");
    assert.ok(lines.some((l) => /^\[pipelines\] warning: image "node:20" and service "postgres" are ignored: this runner's executor is "sandbox"/.test(l)), log);
    assert.equal(lines.filter((l) => l.includes("node:20")).length, 1, log);
    const plan = JSON.parse(build.plan ?? "{}") as Plan;
    assert.deepEqual(plan.steps[0]?.image, { name: "node:20" });
    assert.deepEqual(plan.steps[0]?.services, [{ name: "postgres", image: { name: "postgres:16" }, variables: {} }]);
    assert.deepEqual(plan.steps[0]?.warnings, []);
    assert.match(log, /after with 4/);
    assert.equal(build.stateReason, 'step "Test" failed with exit code 4');
  });

  it("artifacts pass to later steps; a secured variable is masked; BITBUCKET_* variables are set", async () => {
    const w = await installWorld(bb, server);
    const secret = "s3cr3t-value-for-masking";
    await request(server.url).put(`/api/applications/${w.applicationId}/variables/API_TOKEN`).set("Authorization", w.auth()).send({ value: secret, secured: true }).expect(204);
    const file = `pipelines:
  default:
    - step:
        name: Make
        script:
          - mkdir -p dist && echo "made in $BITBUCKET_BUILD_NUMBER" > dist/out.txt
          - echo "token is $API_TOKEN"
        artifacts:
          - dist/**
    - step:
        name: Use
        script:
          - cat dist/out.txt
          - echo "repo $BITBUCKET_REPO_FULL_NAME commit $BITBUCKET_COMMIT"
          - test "$(pwd)" = "$BITBUCKET_CLONE_DIR"
`;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "artifacts" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    const make = await stepLog(server, build.id, 0);
    const use = await stepLog(server, build.id, 1);
    assert.equal(build.state, "SUCCESSFUL", make + use);
    assert.match(make, /token is \*{8}/);
    assert.ok(!make.includes(secret));
    assert.match(use, /made in 1/);
    assert.match(use, new RegExp(`repo ${w.workspace}/${w.slug} commit ${commit.hash}`));
  });

  it("caches are kept per application: saved after the first build, restored in the next", async () => {
    const w = await installWorld(bb, server);
    const file = `definitions:
  caches:
    deps: .deps
pipelines:
  default:
    - step:
        name: Deps
        caches: [deps, pip]
        script:
          - if [ -f .deps/stamp ]; then echo "cached from $(cat .deps/stamp)"; else mkdir -p .deps && echo "build $BITBUCKET_BUILD_NUMBER" > .deps/stamp; fi
          - mkdir -p ~/.cache/pip && echo x > ~/.cache/pip/wheel
`;
    const first = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "cache 1" });
    const b1 = await buildReaches(server, w.applicationId, first.commit.hash, ["SUCCESSFUL", "FAILED"]);
    const log1 = await stepLog(server, b1.id, 0);
    assert.equal(b1.state, "SUCCESSFUL", log1);
    assert.match(log1, /cache "deps" saved from \.deps/);
    assert.match(log1, /cache "pip" saved from ~\/\.cache\/pip/);
    const second = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "x.txt": "2" }, message: "cache 2" });
    const b2 = await buildReaches(server, w.applicationId, second.commit.hash, ["SUCCESSFUL", "FAILED"]);
    const log2 = await stepLog(server, b2.id, 0);
    assert.match(log2, /cache "deps" restored/);
    assert.match(log2, /cached from build 1/);
  });

  it("condition.changesets compares with the last successful build of the same branch", async () => {
    const w = await installWorld(bb, server);
    const file = `pipelines:
  default:
    - step:
        name: Always
        script: [echo always]
    - step:
        name: Source only
        condition:
          changesets:
            includePaths:
              - "src/**"
        script: [echo source changed]
`;
    const first = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file, "src/a.ts": "1" }, message: "one" });
    const b1 = await buildReaches(server, w.applicationId, first.commit.hash, ["SUCCESSFUL", "FAILED"]);
    const s1 = await server.storage.models.Step.findAll({ where: { buildId: b1.id }, order: [["index", "ASC"]] });
    assert.deepEqual(s1.map((s) => s.state), ["SUCCESSFUL", "SUCCESSFUL"], "no earlier build: every step runs");

    const docs = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "docs/readme.md": "2" }, message: "docs" });
    const b2 = await buildReaches(server, w.applicationId, docs.commit.hash, ["SUCCESSFUL", "FAILED"]);
    const s2 = await server.storage.models.Step.findAll({ where: { buildId: b2.id }, order: [["index", "ASC"]] });
    assert.deepEqual(s2.map((s) => s.state), ["SUCCESSFUL", "SKIPPED"]);
    assert.match(await stepLog(server, b2.id, 1), /condition\.changesets/);

    const src = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "src/b.ts": "3" }, message: "src" });
    const b3 = await buildReaches(server, w.applicationId, src.commit.hash, ["SUCCESSFUL", "FAILED"]);
    const s3 = await server.storage.models.Step.findAll({ where: { buildId: b3.id }, order: [["index", "ASC"]] });
    assert.deepEqual(s3.map((s) => s.state), ["SUCCESSFUL", "SUCCESSFUL"]);
  });

  it("artifacts reach a manual step that someone starts later", async () => {
    const w = await installWorld(bb, server);
    const file = `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo "from build" > out.txt
        artifacts: [out.txt]
    - step:
        name: Deploy
        trigger: manual
        script:
          - cat out.txt
`;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "manual" });
    const paused = await buildReaches(server, w.applicationId, commit.hash, ["PAUSED", "FAILED"]);
    assert.equal(paused.state, "PAUSED");
    await request(server.url).post(`/api/builds/${paused.id}/steps/1/run`).set("Authorization", w.auth()).expect(200);
    const done = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    const log = await stepLog(server, done.id, 1);
    assert.equal(done.state, "SUCCESSFUL", log);
    assert.match(log, /from build/);
  });

  it("a parallel group runs its steps at the same time; fail-fast stops the rest of the group", async () => {
    const w = await installWorld(bb, server);
    const file = `pipelines:
  default:
    - parallel:
        - step:
            name: Left
            script:
              - date +%s%3N > /dev/null; echo "left start $(date +%s%3N)"; sleep 2; echo "left end $(date +%s%3N)"
        - step:
            name: Right
            script:
              - echo "right start $(date +%s%3N)"; sleep 2; echo "right end $(date +%s%3N)"
    - parallel:
        fail-fast: true
        steps:
          - step:
              name: Breaks
              script:
                - sleep 1; exit 5
          - step:
              name: Long
              script:
                - sleep 60
    - step:
        name: After
        script: [echo never]
`;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": file }, message: "parallel" });
    const started = Date.now();
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED", "STOPPED"], 30_000);
    assert.ok(Date.now() - started < 20_000, "fail-fast did not wait for the 60 s step");
    const at = (log: string, what: string) => Number(new RegExp(`${what} (\\d+)`).exec(log)?.[1]);
    const left = await stepLog(server, build.id, 0);
    const right = await stepLog(server, build.id, 1);
    assert.ok(at(left, "left start") < at(right, "right end") && at(right, "right start") < at(left, "left end"), `${left}\n${right}`);
    const steps = await server.storage.models.Step.findAll({ where: { buildId: build.id }, order: [["index", "ASC"]] });
    assert.deepEqual(steps.map((st) => st.state), ["SUCCESSFUL", "SUCCESSFUL", "FAILED", "STOPPED", "NOT_RUN"]);
    assert.equal(build.state, "FAILED");
    assert.equal(build.stateReason, 'step "Breaks" failed with exit code 5');
  });
});
