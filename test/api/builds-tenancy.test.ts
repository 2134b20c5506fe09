import assert from "node:assert/strict";
import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { installWorld, type World } from "../support/build-world";
import type { Build } from "../../src/db/models";
import { api, insertBuild } from "./api-support";

/**
 * Every build route of workspace A, called with a context token of workspace B: 404, exactly like a build or
 * application that does not exist, and nothing changes.
 */
describe("API: another workspace's builds are invisible", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  let a: World;
  let b: World;
  let finished: Build;
  let paused: Build;
  let running: Build;

  before(async () => {
    bb = await startBitbucketCloud();
    server = await startTestServer();
    a = await installWorld(bb, server, "tenant-a");
    b = await installWorld(bb, server, "tenant-b");
    const models = server.storage.models;
    const app = await models.Application.findByPk(a.applicationId);
    assert.ok(app);
    finished = await insertBuild(models, app, { state: "SUCCESSFUL" });
    const step = await models.Step.findOne({ where: { buildId: finished.id, index: 0 } });
    assert.ok(step);
    await models.LogChunk.create({ stepId: step.id, offset: 0, data: Buffer.from("secret log of A\n") });
    await step.update({ logBytes: 16 });
    paused = await insertBuild(models, app, { state: "PAUSED" }, 2);
    await models.Step.update({ state: "WAITING" }, { where: { buildId: paused.id, index: 1 } });
    // No job: nothing will claim it, it stays RUNNING for the test.
    running = await insertBuild(models, app, { state: "RUNNING" });
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  const assertHidden = (res: { status: number; body: { error?: unknown }; text: string }) => {
    assert.equal(res.status, 404, res.text);
    assert.equal(typeof res.body.error, "string");
  };
  const stateOf = async (build: Build) => (await server.storage.models.Build.findByPk(build.id))?.state;

  it("GET /api/applications/:id/builds", async () => {
    assertHidden(await api(server, b, "get", `/api/applications/${a.applicationId}/builds`));
    assert.equal((await api(server, a, "get", `/api/applications/${a.applicationId}/builds`)).status, 200);
  });

  it("POST /api/applications/:id/builds", async () => {
    assertHidden(await api(server, b, "post", `/api/applications/${a.applicationId}/builds`).send({ branch: "main" }));
    assert.equal(await server.storage.models.Build.count({ where: { applicationId: a.applicationId } }), 3);
  });

  it("GET /api/applications/:id/decisions", async () => {
    assertHidden(await api(server, b, "get", `/api/applications/${a.applicationId}/decisions`));
    assert.equal((await api(server, a, "get", `/api/applications/${a.applicationId}/decisions`)).status, 200);
  });

  it("GET /api/builds/:id", async () => {
    const res = await api(server, b, "get", `/api/builds/${finished.id}`);
    assertHidden(res);
    const missing = await api(server, b, "get", `/api/builds/${running.id + 1000}`);
    assert.equal(missing.status, 404);
    assert.equal(res.body.error, (missing.body.error as string).replace(String(running.id + 1000), String(finished.id)), "the same answer as for a build that does not exist");
    assert.equal((await api(server, a, "get", `/api/builds/${finished.id}`)).status, 200);
  });

  it("GET /api/builds/:id/steps/:n/log", async () => {
    const res = await api(server, b, "get", `/api/builds/${finished.id}/steps/0/log`);
    assertHidden(res);
    assert.doesNotMatch(res.text, /secret log/);
    assert.equal((await api(server, a, "get", `/api/builds/${finished.id}/steps/0/log`)).text, "secret log of A\n");
  });

  it("POST /api/builds/:id/cancel", async () => {
    assertHidden(await api(server, b, "post", `/api/builds/${running.id}/cancel`));
    assert.equal(await stateOf(running), "RUNNING");
  });

  it("POST /api/builds/:id/rerun", async () => {
    assertHidden(await api(server, b, "post", `/api/builds/${finished.id}/rerun`));
    assert.equal(await server.storage.models.Build.count({ where: { rerunOf: finished.id } }), 0);
  });

  it("POST /api/builds/:id/steps/:n/run", async () => {
    assertHidden(await api(server, b, "post", `/api/builds/${paused.id}/steps/1/run`));
    assert.equal(await stateOf(paused), "PAUSED");
    assert.equal(await server.storage.models.Job.count({ where: { buildId: paused.id } }), 0);
  });

  it("without a context token every build route is refused", async () => {
    for (const path of [`/api/builds/${finished.id}`, `/api/applications/${a.applicationId}/builds`]) {
      assert.equal((await request(server.url).get(path)).status, 401);
    }
  });
});
