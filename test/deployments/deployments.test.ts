import assert from "node:assert/strict";
import request from "supertest";
import type { BitbucketCloud } from "../standin/cloud";
import type { TestServer } from "../support/test-server";
import { buildReaches, eventually, installWorld, stepLog, withStandinAndServer, type World } from "../support/build-world";
import { appApi, asPerson, buildInState } from "./deploy-support";

const NON_ADMIN = "557058:0000000000000000000000non-admin";

/** Continuous deployment through the Bitbucket Cloud stand-in: environments, their variables, locks and restrictions. */
describe("deployments", function () {
  this.timeout(120_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  withStandinAndServer((b, s) => ((bb = b), (server = s)));

  /** The developer who pushes: an admin of the repositories the stand-in makes. */
  const admin = (w: World) => asPerson(w, bb.currentSecret(w.clientKey) ?? w.secret, bb.developer.accountId);
  const nonAdmin = (w: World) => {
    bb.setRepositoryPermission(w.workspace, w.slug, NON_ADMIN, "write");
    return asPerson(w, bb.currentSecret(w.clientKey) ?? w.secret, NON_ADMIN);
  };
  const push = async (w: World, file: string, opts: { branch?: string; extra?: Record<string, string>; message?: string } = {}) => {
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, {
      branch: opts.branch,
      files: { "bitbucket-pipelines.yml": file, ...opts.extra },
      message: opts.message ?? "pipeline",
    });
    return commit.hash;
  };
  const deploymentsOf = async (w: World, env: string) => (await appApi(server, w, "get", `/environments/${env}/deployments`, w.auth()).expect(200)).body.values as Record<string, unknown>[];

  it("an application starts with Test, Staging and Production; the API adds, renames, moves and removes environments", async () => {
    const w = await installWorld(bb, server, "envs");
    const list = await appApi(server, w, "get", "/environments", w.auth()).expect(200);
    assert.deepEqual(
      list.body.values.map((e: { name: string; type: string; rank: number; restrictions: unknown; current: unknown }) => [e.name, e.type, e.rank, e.restrictions, e.current]),
      [
        ["Test", "test", 0, { branches: [], adminsOnly: false }, null],
        ["Staging", "staging", 1, { branches: [], adminsOnly: false }, null],
        ["Production", "production", 2, { branches: [], adminsOnly: false }, null],
      ],
    );
    const qa = await appApi(server, w, "post", "/environments", w.auth()).send({ name: "QA", type: "test", rank: 1 }).expect(201);
    assert.equal(qa.body.rank, 1);
    await appApi(server, w, "post", "/environments", w.auth()).send({ name: "qa", type: "test" }).expect(409);
    const bad = await appApi(server, w, "post", "/environments", w.auth()).send({ name: "X", type: "prod" }).expect(400);
    assert.match(bad.body.error, /type must be one of test, staging, production/);
    await appApi(server, w, "patch", "/environments/qa", w.auth()).send({ name: "Acceptance", rank: 3 }).expect(200);
    const after = await appApi(server, w, "get", "/environments", w.auth()).expect(200);
    assert.deepEqual(after.body.values.map((e: { name: string }) => e.name), ["Test", "Staging", "Production", "Acceptance"]);
    // Restrictions only a repository admin may change: a token that names nobody is refused.
    const refused = await appApi(server, w, "patch", "/environments/production", w.auth()).send({ branches: ["main"] }).expect(403);
    assert.match(refused.body.error, /repository admins only/);
    await appApi(server, w, "patch", "/environments/production", nonAdmin(w)).send({ adminsOnly: true }).expect(403);
    await appApi(server, w, "delete", "/environments/acceptance", w.auth()).expect(204);
    await appApi(server, w, "get", "/environments/acceptance/deployments", w.auth()).expect(404);
  });

  it("deployment variables reach only the deployment step, override the application's, and are masked when secured", async () => {
    const w = await installWorld(bb, server, "vars");
    const token = "deploy-token-that-must-never-show";
    await appApi(server, w, "put", "/variables/REGION", w.auth()).send({ value: "app-region" }).expect(204);
    await appApi(server, w, "put", "/environments/staging/variables/REGION", w.auth()).send({ value: "eu-west-1" }).expect(204);
    await appApi(server, w, "put", "/environments/Staging/variables/DEPLOY_TOKEN", w.auth()).send({ value: token, secured: true }).expect(204);
    const vars = await appApi(server, w, "get", "/environments/staging/variables", w.auth()).expect(200);
    assert.deepEqual(vars.body.values, [
      { name: "DEPLOY_TOKEN", secured: true, value: null },
      { name: "REGION", secured: false, value: "eu-west-1" },
    ]);
    const stored = await server.storage.models.EnvironmentVariable.findOne({ where: { name: "DEPLOY_TOKEN" } });
    assert.ok(stored && !stored.value.includes(token), "sealed at rest");
    const hash = await push(w, `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo "build sees [\${DEPLOY_TOKEN:-unset}] in [\${REGION:-unset}]"
    - step:
        name: Deploy
        deployment: staging
        script:
          - echo "deploy sees [$DEPLOY_TOKEN] in [$REGION] on [$BITBUCKET_DEPLOYMENT_ENVIRONMENT]"
          - echo "$DEPLOY_TOKEN" | base64
`);
    const build = await buildReaches(server, w.applicationId, hash, ["SUCCESSFUL", "FAILED"]);
    const [first, second] = [await stepLog(server, build.id, 0), await stepLog(server, build.id, 1)];
    assert.equal(build.state, "SUCCESSFUL", first + second);
    assert.match(first, /build sees \[unset\] in \[app-region\]/);
    assert.match(second, /deploy sees \[\*{8}\] in \[eu-west-1\] on \[staging\]/);
    assert.ok(!second.includes(token) && !second.includes(Buffer.from(`${token}\n`).toString("base64").slice(0, 20)), second);
    const [deployment] = await deploymentsOf(w, "staging");
    assert.equal(deployment.state, "SUCCESSFUL");
    assert.equal(deployment.buildId, build.id);
    assert.equal(deployment.step, 1);
    assert.equal(deployment.commit, hash);
    assert.equal(deployment.startedBy, null);
    const envs = await appApi(server, w, "get", "/environments", w.auth()).expect(200);
    assert.equal(envs.body.values[1].current.buildNumber, build.number);
    await appApi(server, w, "delete", "/environments/staging/variables/REGION", w.auth()).expect(204);
    await appApi(server, w, "delete", "/environments/staging/variables/REGION", w.auth()).expect(404);
  });

  it("two quick pushes to main with a 5-second staging deployment: the deployments never overlap and both succeed", async () => {
    const w = await installWorld(bb, server, "lock");
    // Both builds must reach their deployment: no auto-cancel of the older one.
    await appApi(server, w, "patch", "", w.auth()).send({ autoCancel: false }).expect(200);
    const file = (n: number) => `pipelines:
  branches:
    main:
      - step:
          name: Deploy ${n}
          deployment: staging
          script:
            - echo "start $(date +%s%3N)"
            - sleep 5
            - echo "end $(date +%s%3N)"
`;
    const first = await push(w, file(1), { message: "first" });
    const second = await push(w, file(2), { message: "second" });
    // One of them waits for the other, saying so.
    const waiting = await eventually("a build waiting for Staging", async () => {
      const builds = await server.storage.models.Build.findAll({ where: { applicationId: w.applicationId, state: "PAUSED" } });
      return builds.find((b) => /^waiting: build #\d+ is deploying to Staging$/.test(b.stateReason ?? ""));
    });
    const a = await buildReaches(server, w.applicationId, first, ["SUCCESSFUL", "FAILED"], 60_000);
    const b = await buildReaches(server, w.applicationId, second, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(a.state, "SUCCESSFUL");
    assert.equal(b.state, "SUCCESSFUL");
    const steps = await Promise.all([a, b].map((x) => server.storage.models.Step.findOne({ where: { buildId: x.id, index: 0 } })));
    const [earlier, later] = [...steps].sort((x, y) => (x?.startedAt?.getTime() ?? 0) - (y?.startedAt?.getTime() ?? 0));
    assert.ok(earlier?.finishedAt && later?.startedAt && later.startedAt.getTime() >= earlier.finishedAt.getTime(), "the second starts after the first ends");
    const times = async (buildId: number) => {
      const log = await stepLog(server, buildId, 0);
      return { start: Number(/start (\d+)/.exec(log)?.[1]), end: Number(/end (\d+)/.exec(log)?.[1]) };
    };
    const [ta, tb] = [await times(a.id), await times(b.id)];
    assert.ok(ta.end <= tb.start || tb.end <= ta.start, `the two deployments overlapped: ${JSON.stringify([ta, tb])}`);
    assert.ok([a.number, b.number].includes(Number(/#(\d+)/.exec(waiting.stateReason ?? "")?.[1])));
    const history = await deploymentsOf(w, "staging");
    assert.deepEqual(history.map((d) => d.state), ["SUCCESSFUL", "SUCCESSFUL"]);
    assert.equal(await server.storage.models.StepLock.count({ where: { applicationId: w.applicationId } }), 0, "nothing is left held");
  });

  it("a feature branch's production step is refused with the reason, while the rest of its build runs", async () => {
    const w = await installWorld(bb, server, "branches");
    await appApi(server, w, "patch", "/environments/production", admin(w)).send({ restrictions: { branches: ["main", "release/*"] } }).expect(200);
    const file = `pipelines:
  default:
    - step:
        name: Test
        script: [echo tested]
    - step:
        name: Ship
        deployment: production
        script: [echo shipped]
    - step:
        name: Notify
        script: [echo notified]
`;
    await push(w, "pipelines:\n  branches:\n    nothing:\n      - step:\n          script: [echo]\n", { message: "start main" });
    const hash = await push(w, file, { branch: "feature/login", message: "feature" });
    const build = await buildReaches(server, w.applicationId, hash, ["SUCCESSFUL", "FAILED"]);
    const steps = await server.storage.models.Step.findAll({ where: { buildId: build.id }, order: [["index", "ASC"]] });
    assert.deepEqual(steps.map((s) => s.state), ["SUCCESSFUL", "REFUSED", "SUCCESSFUL"]);
    const log = await stepLog(server, build.id, 1);
    assert.match(log, /this deployment was refused: Production accepts deployments from the branches "main", "release\/\*" only, not from "feature\/login"/);
    assert.equal(build.state, "SUCCESSFUL");
    assert.match(build.stateReason ?? "", /"Ship" was refused/);
    const [refused] = await deploymentsOf(w, "production");
    assert.equal(refused.state, "REFUSED");
    assert.match(String(refused.reason), /not from "feature\/login"/);
    // From main it deploys.
    const onMain = await push(w, file, { branch: "main", message: "main" });
    const shipped = await buildReaches(server, w.applicationId, onMain, ["SUCCESSFUL", "FAILED"]);
    assert.equal((await server.storage.models.Step.findOne({ where: { buildId: shipped.id, index: 1 } }))?.state, "SUCCESSFUL");
  });

  it("a step naming an environment that does not exist fails before it starts, saying how to add it", async () => {
    const w = await installWorld(bb, server, "unknown");
    const hash = await push(w, "pipelines:\n  default:\n    - step:\n        name: Go\n        deployment: qa\n        script: [echo never]\n");
    const build = await buildReaches(server, w.applicationId, hash, ["SUCCESSFUL", "FAILED"]);
    assert.equal(build.state, "FAILED");
    const log = await stepLog(server, build.id, 0);
    assert.match(log, /the deployment environment "qa" does not exist in .* \(its environments: Test, Staging, Production\); add it/);
    assert.ok(!log.includes("never"));
  });

  it("admins only: a deployment waits for an admin; a non-admin's Run is refused by Bitbucket's answer, an admin's runs it", async () => {
    const w = await installWorld(bb, server, "admins");
    await appApi(server, w, "patch", "/environments/production", admin(w)).send({ adminsOnly: true }).expect(200);
    const hash = await push(w, "pipelines:\n  default:\n    - step:\n        name: Build\n        script: [echo built]\n    - step:\n        name: Ship\n        deployment: production\n        script: [echo shipped]\n");
    const paused = await buildReaches(server, w.applicationId, hash, ["PAUSED", "FAILED", "SUCCESSFUL"]);
    assert.equal(paused.state, "PAUSED");
    assert.match(paused.stateReason ?? "", /Production takes deployments from repository admins only: waiting for an admin to run the step "Ship"/);
    const ship = await server.storage.models.Step.findOne({ where: { buildId: paused.id, index: 1 } });
    assert.equal(ship?.state, "WAITING");

    const refused = await request(server.url).post(`/api/builds/${paused.id}/steps/1/run`).set("Authorization", nonAdmin(w));
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.body.error, /Production takes deployments from repository admins only, and Bitbucket says you are not an admin of /);
    assert.ok(bb.calls.some((c) => c.path === `/2.0/workspaces/${w.workspace}/permissions/repositories/${w.slug}` && c.auth === "jwt" && decodeURIComponent(c.query).includes(NON_ADMIN)));
    assert.equal((await server.storage.models.Build.findByPk(paused.id))?.state, "PAUSED");

    const ok = await request(server.url).post(`/api/builds/${paused.id}/steps/1/run`).set("Authorization", admin(w));
    assert.equal(ok.status, 200, ok.text);
    const done = await buildInState(server, paused.id, ["SUCCESSFUL", "FAILED"]);
    assert.equal(done.state, "SUCCESSFUL");
    const [deployment] = await deploymentsOf(w, "production");
    assert.equal(deployment.state, "SUCCESSFUL");
    assert.equal(deployment.startedBy, bb.developer.accountId);
    // Redeploying to it by hand is refused to a non-admin too.
    const redeploy = await appApi(server, w, "post", "/environments/production/redeploy", nonAdmin(w)).send({ buildId: paused.id });
    assert.equal(redeploy.status, 403);
  });

  it("promote runs the build's manual production step after staging", async () => {
    const w = await installWorld(bb, server, "promote");
    const hash = await push(w, `pipelines:
  default:
    - step:
        name: To staging
        deployment: staging
        script: [echo staging]
    - step:
        name: To production
        deployment: production
        trigger: manual
        script: [echo production]
`);
    const paused = await buildReaches(server, w.applicationId, hash, ["PAUSED", "FAILED", "SUCCESSFUL"]);
    assert.equal(paused.state, "PAUSED");
    const before = (await appApi(server, w, "get", "/environments", w.auth()).expect(200)).body.values;
    assert.equal(before[1].current.buildId, paused.id);
    assert.equal(before[2].current, null);
    const wrong = await appApi(server, w, "post", "/environments/staging/promote", admin(w)).send({ buildId: paused.id }).expect(409);
    assert.match(wrong.body.error, /deploys to production, not to Staging/);
    const promoted = await appApi(server, w, "post", "/environments/production/promote", admin(w)).send({ buildId: paused.id }).expect(200);
    assert.equal(promoted.body.state, "QUEUED");
    const done = await buildInState(server, paused.id, ["SUCCESSFUL", "FAILED"]);
    assert.equal(done.state, "SUCCESSFUL");
    const after = (await appApi(server, w, "get", "/environments", w.auth()).expect(200)).body.values;
    assert.equal(after[2].current.buildId, paused.id);
    assert.equal(after[2].current.step, 1);
    assert.equal(after[2].current.state, "SUCCESSFUL");
    assert.equal(after[2].current.startedBy, bb.developer.accountId);
    assert.match(await stepLog(server, paused.id, 1), /^production$/m);
  });

  it("redeploy of an earlier build deploys its commit again, with its artifacts (a rollback); the history counts commits", async () => {
    const w = await installWorld(bb, server, "redeploy");
    const file = `pipelines:
  default:
    - step:
        name: Package
        script:
          - mkdir -p dist && echo "package of $BITBUCKET_COMMIT" > dist/version.txt
        artifacts: [dist/**]
    - step:
        name: Deploy
        deployment: staging
        script:
          - cat dist/version.txt
          - echo "deploying $BITBUCKET_COMMIT"
`;
    const one = await push(w, file, { message: "one" });
    const first = await buildReaches(server, w.applicationId, one, ["SUCCESSFUL", "FAILED"]);
    const two = await push(w, file, { extra: { "README.md": "two\n" }, message: "two" });
    const second = await buildReaches(server, w.applicationId, two, ["SUCCESSFUL", "FAILED"]);
    assert.deepEqual([first.state, second.state], ["SUCCESSFUL", "SUCCESSFUL"]);
    const history = await deploymentsOf(w, "staging");
    assert.equal(history[0].commit, two);
    assert.equal(history[0].commitsSincePrevious, 1);

    const res = await appApi(server, w, "post", "/environments/staging/redeploy", admin(w)).send({ buildId: first.id }).expect(201);
    assert.equal(res.body.commit, one);
    assert.equal(res.body.state, "WAITING");
    assert.equal(res.body.startedBy, bb.developer.accountId);
    const rollback = await buildInState(server, res.body.buildId, ["SUCCESSFUL", "FAILED"]);
    const log = await stepLog(server, rollback.id, 0);
    assert.equal(rollback.state, "SUCCESSFUL", log);
    assert.equal(rollback.trigger, "redeploy");
    assert.equal(rollback.commit, one);
    assert.match(log, new RegExp(`package of ${one}`));
    assert.match(log, new RegExp(`deploying ${one}`));
    const envs = (await appApi(server, w, "get", "/environments", w.auth()).expect(200)).body.values;
    assert.equal(envs[1].current.commit, one);
    assert.equal(envs[1].current.buildId, rollback.id);
    const none = await appApi(server, w, "post", "/environments/production/redeploy", admin(w)).send({ buildId: first.id }).expect(422);
    assert.match(none.body.error, /has no step that deploys to Production/);
  });

  it("a deployment waiting for its environment can be cancelled by hand; the running one goes on, and the next in line gets it", async () => {
    const w = await installWorld(bb, server, "cancel");
    await appApi(server, w, "patch", "", w.auth()).send({ autoCancel: false }).expect(200);
    const file = (n: number, seconds: number) => `pipelines:\n  default:\n    - step:\n        name: Deploy ${n}\n        deployment: test\n        script: ["sleep ${seconds}", "echo done ${n}"]\n`;
    const long = await push(w, file(1, 8), { message: "long" });
    const running = await buildReaches(server, w.applicationId, long, ["RUNNING"]);
    await eventually("the long one deploying", async () => (await server.storage.models.Deployment.findOne({ where: { buildId: running.id, state: "RUNNING" } })) ?? undefined);
    const second = await push(w, file(2, 1), { message: "second" });
    const third = await push(w, file(3, 1), { message: "third" });
    const waiting = await buildReaches(server, w.applicationId, second, ["PAUSED"]);
    assert.match(waiting.stateReason ?? "", new RegExp(`^waiting: build #${running.number} is deploying to Test$`));
    const cancelled = await request(server.url).post(`/api/builds/${waiting.id}/cancel`).set("Authorization", w.auth());
    assert.equal(cancelled.status, 200, cancelled.text);
    const after = await buildReaches(server, w.applicationId, third, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(after.state, "SUCCESSFUL");
    assert.equal((await server.storage.models.Build.findByPk(running.id))?.state, "SUCCESSFUL");
    assert.equal((await server.storage.models.Build.findByPk(waiting.id))?.state, "STOPPED");
    const states = (await deploymentsOf(w, "test")).map((d) => [d.buildId, d.state]);
    assert.deepEqual(states, [
      [after.id, "SUCCESSFUL"],
      [waiting.id, "STOPPED"],
      [running.id, "SUCCESSFUL"],
    ]);
  });

  it("concurrency-group: steps of the same group in two builds run one at a time", async () => {
    const w = await installWorld(bb, server, "group");
    await appApi(server, w, "patch", "", w.auth()).send({ autoCancel: false }).expect(200);
    const file = (n: number) => `pipelines:
  default:
    - step:
        name: Migrate ${n}
        concurrency-group: database
        script:
          - echo "start $(date +%s%3N)"
          - sleep 3
          - echo "end $(date +%s%3N)"
`;
    const a = await push(w, file(1), { message: "a" });
    const b = await push(w, file(2), { message: "b" });
    await eventually("a build waiting for the group", async () =>
      (await server.storage.models.Build.findAll({ where: { applicationId: w.applicationId, state: "PAUSED" } })).find((x) => /running a step of the concurrency group "database"/.test(x.stateReason ?? "")),
    );
    const [ba, bb2] = [await buildReaches(server, w.applicationId, a, ["SUCCESSFUL", "FAILED"], 60_000), await buildReaches(server, w.applicationId, b, ["SUCCESSFUL", "FAILED"], 60_000)];
    assert.deepEqual([ba.state, bb2.state], ["SUCCESSFUL", "SUCCESSFUL"]);
    const t = async (id: number) => {
      const log = await stepLog(server, id, 0);
      return [Number(/start (\d+)/.exec(log)?.[1]), Number(/end (\d+)/.exec(log)?.[1])];
    };
    const [[s1, e1], [s2, e2]] = [await t(ba.id), await t(bb2.id)];
    assert.ok(e1 <= s2 || e2 <= s1, "the group's steps did not overlap");
  });
});
