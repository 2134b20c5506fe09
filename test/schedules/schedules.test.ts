import assert from "node:assert/strict";
import { Op } from "sequelize";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { eventually, installWorld, withStandinAndServer, type World } from "../support/build-world";
import { appApi } from "../deployments/deploy-support";

const PIPELINE = "pipelines:\n  default:\n    - step:\n        name: Nightly\n        script: [echo nightly]\n  custom:\n    report:\n      - variables:\n          - name: LEVEL\n            default: full\n      - step:\n          name: Report\n          script: ['echo \"report $LEVEL\"']\n";

async function scheduledBuilds(server: TestServer, w: World) {
  return server.storage.models.Build.findAll({ where: { applicationId: w.applicationId, trigger: "schedule" }, order: [["id", "ASC"]] });
}

describe("scheduled pipelines", function () {
  this.timeout(120_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  withStandinAndServer((b, s) => ((bb = b), (server = s)));

  it("the API: a bad cron is a 400 naming what is wrong; a schedule has its next tick; disabled it has none; deleted it is gone", async () => {
    const w = await installWorld(bb, server, "sapi");
    const bad = await appApi(server, w, "post", "/schedules", w.auth()).send({ branch: "main", cron: "0 0 25 * * ? *" }).expect(400);
    assert.match(bad.body.error, /hour/);
    await appApi(server, w, "post", "/schedules", w.auth()).send({ branch: "main", cron: "0 0 2 * * ? *", timezone: "Nowhere/Else" }).expect(400);
    await appApi(server, w, "post", "/schedules", w.auth()).send({ branch: "main", cron: "0 0 2 * * ? *", pipeline: "deploy" }).expect(400);
    const made = await appApi(server, w, "post", "/schedules", w.auth()).send({ branch: "main", cron: "0 0 2 * * ? *", timezone: "Europe/Paris", pipeline: "custom:report" }).expect(201);
    assert.equal(made.body.pipeline, "custom:report");
    assert.equal(made.body.enabled, true);
    assert.ok(new Date(made.body.nextRunAt).getTime() > Date.now());
    const off = await appApi(server, w, "patch", `/schedules/${made.body.id}`, w.auth()).send({ enabled: false }).expect(200);
    assert.equal(off.body.nextRunAt, null);
    const list = await appApi(server, w, "get", "/schedules", w.auth()).expect(200);
    assert.equal(list.body.values.length, 1);
    await appApi(server, w, "delete", `/schedules/${made.body.id}`, w.auth()).expect(204);
    await appApi(server, w, "patch", `/schedules/${made.body.id}`, w.auth()).send({ enabled: true }).expect(404);
  });

  it("after a downtime a missed tick fires once, not once per tick missed; the build says the schedule started it", async () => {
    const w = await installWorld(bb, server, "missed");
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": PIPELINE }, message: "pipeline" });
    const made = await appApi(server, w, "post", "/schedules", w.auth()).send({ branch: "main", cron: "0 */5 * * * ? *", pipeline: "custom:report" }).expect(201);
    // As if the service had been down for a day: 288 ticks were missed.
    await server.storage.models.Schedule.update({ nextRunAt: new Date(Date.now() - 24 * 3600_000) }, { where: { id: made.body.id } });
    const [build] = await eventually("the scheduled build", async () => {
      const b = await scheduledBuilds(server, w);
      return b.length ? b : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await scheduledBuilds(server, w)).length, 1);
    assert.equal(build.commit, commit.hash);
    assert.equal(build.pipelineName, "custom: report");
    const schedule = await server.storage.models.Schedule.findByPk(made.body.id);
    assert.ok(schedule?.nextRunAt && schedule.nextRunAt.getTime() > Date.now());
    assert.equal(schedule?.lastBuildId, build.id);
    const decisions = await appApi(server, w, "get", "/decisions", w.auth()).expect(200);
    const why = decisions.body.values.find((d: { buildId: number | null }) => d.buildId === build.id);
    assert.equal(why?.event, "schedule");
    assert.match(why?.reason, new RegExp(`schedule #${made.body.id} \\(0 \\*/5 \\* \\* \\* \\? \\* in UTC\\) started the custom pipeline "report" on main`));
  });
});

/** Two service processes on one Postgres database: the same schedule, each tick fired by exactly one of them. */
describe("scheduled pipelines with two service processes on one Postgres", function () {
  this.timeout(120_000);
  const postgres = process.env.DATABASE_URL && /^postgres(ql)?:/.test(process.env.DATABASE_URL) ? process.env.DATABASE_URL : null;
  let bb: BitbucketCloud;
  let one: TestServer;
  let two: TestServer;

  before(async function () {
    if (!postgres) {
      // .ci/run runs the suite again with DATABASE_URL=postgres://…: this test runs there.
      console.log("    (skipped: two processes sharing one database needs Postgres; run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)");
      this.skip();
    }
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    one = await startTestServer();
    // The second process: the first one's database (schema) and secret key.
    two = await startTestServer({ DATABASE_URL: one.env.DATABASE_URL ?? "", PIPELINES_SECRET_KEY: one.secretKey });
  });
  after(async () => {
    await two?.stop();
    await one?.stop();
    await bb?.stop();
  });

  it("a 7-field schedule every 10 seconds fires once per tick, and not at all once disabled", async () => {
    const w = await installWorld(bb, one, "twice");
    await bb.pushAndNotify(one.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": PIPELINE }, message: "pipeline" });
    const made = await appApi(one, w, "post", "/schedules", w.auth()).send({ branch: "main", cron: "*/10 * * * * ? *" }).expect(201);
    // Both processes see it: the second lists it from the same database.
    assert.equal((await appApi(two, w, "get", "/schedules", w.auth()).expect(200)).body.values.length, 1);
    const ticks = await eventually(
      "three ticks",
      async () => {
        const rows = await one.storage.models.Delivery.findAll({ where: { deliveryId: { [Op.like]: `schedule-${made.body.id}-%` } } });
        return rows.length >= 3 ? rows : undefined;
      },
      45_000,
    );
    await appApi(two, w, "patch", `/schedules/${made.body.id}`, w.auth()).send({ enabled: false }).expect(200);
    // A tick claimed just before the switch may still be making its build.
    await new Promise((r) => setTimeout(r, 2000));
    const fired = await one.storage.models.Delivery.findAll({ where: { deliveryId: { [Op.like]: `schedule-${made.body.id}-%` } } });
    const builds = await scheduledBuilds(one, w);
    assert.ok(fired.length >= ticks.length);
    // One build per tick, never two: the build's key names its tick.
    const tickTimes = fired.map((d) => d.deliveryId.replace(`schedule-${made.body.id}-`, "")).sort();
    assert.equal(new Set(tickTimes).size, tickTimes.length, "a tick is recorded once");
    for (const t of tickTimes) assert.equal(new Date(t).getUTCSeconds() % 10, 0, `${t} is on a 10-second tick`);
    assert.deepEqual(builds.map((b) => b.buildKey.split("|").pop()).sort(), tickTimes);
    const count = builds.length;
    await new Promise((r) => setTimeout(r, 12_000));
    assert.equal((await scheduledBuilds(one, w)).length, count, "a disabled schedule fires no more");
    assert.equal(await one.storage.models.Delivery.count({ where: { deliveryId: { [Op.like]: `schedule-${made.body.id}-%` } } }), fired.length);
  });
});
