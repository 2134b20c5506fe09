import assert from "node:assert/strict";
import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { installWorld, type World } from "../support/build-world";
import { insertBuild } from "../api/api-support";
import type { Application, Build } from "../../src/db/models";
import { mintToken } from "../support/connect-tokens";
import { contextAuth, openPage, readSse, withContext } from "./pages-support";

/**
 * Every page and every route the pages added, called with workspace B's tokens about workspace A's repository,
 * application, builds and logs: nothing of A is shown, streamed or changed.
 */
describe("pages: another workspace sees nothing", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  let a: World;
  let b: World;
  let aApp: Application;
  let aBuild: Build;
  const SECRET_LOG = "log line only workspace A may read";

  before(async () => {
    bb = await startBitbucketCloud();
    server = await startTestServer();
    a = await installWorld(bb, server, "ten-a");
    b = await installWorld(bb, server, "ten-b");
    const models = server.storage.models;
    const found = await models.Application.findByPk(a.applicationId);
    assert.ok(found);
    aApp = found;
    await bb.commit(a.workspace, a.slug, { files: { "bitbucket-pipelines.yml": "pipelines:\n  custom:\n    secret-of-a:\n      - step:\n          script: [\"true\"]\n" }, message: "pipelines of A" });
    aBuild = await insertBuild(models, aApp, { state: "SUCCESSFUL", refName: "main", stateReason: "reason of A" });
    const step = await models.Step.findOne({ where: { buildId: aBuild.id, index: 0 } });
    assert.ok(step);
    await models.LogChunk.create({ stepId: step.id, offset: 0, data: Buffer.from(`${SECRET_LOG}\n`) });
    await step.update({ logBytes: SECRET_LOG.length + 1 });
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  const creds = (w: World) => ({ clientKey: w.clientKey, secret: bb.currentSecret(w.clientKey) ?? w.secret });
  const aRepo = () => `${a.workspace}/${a.slug}`;
  const bRepo = () => `${b.workspace}/${b.slug}`;
  /** Nothing that belongs to A in a page or fragment B was given. */
  const assertNothingOfA = (text: string) => {
    assert.ok(!text.includes(aApp.badgeToken), "A's badge token");
    assert.ok(!text.includes("reason of A"), "A's build");
    assert.ok(!text.includes(`data-application-id="${aApp.id}"`), "A's application");
    assert.ok(!text.includes(`data-build-id="${aBuild.id}"`) || aBuild.id === 0, "A's build id");
    assert.ok(!text.includes(SECRET_LOG));
  };

  it("GET /pages/panel: B opening A's repository sees no application of A (and Create would be refused by Bitbucket)", async () => {
    const res = await openPage(server, creds(b), "/pages/panel", { repoUuid: "{1}", repoPath: aRepo() });
    assert.equal(res.status, 200);
    assert.match(res.text, /data-testid="create-application"/);
    assertNothingOfA(res.text);
    const create = await request(server.url).post("/api/applications").set("Authorization", contextAuth(creds(b))).send({ repository: aRepo() });
    assert.notEqual(create.status, 201);
    assert.equal(await server.storage.models.Application.count({ where: { repository: aRepo() } }), 1);
  });

  it("GET /pages/builds: B opening A's repository, or A's build in B's repository, sees nothing of A", async () => {
    const res = await openPage(server, creds(b), "/pages/builds", { repoUuid: "{1}", repoPath: aRepo(), build: String(aBuild.id) });
    assert.equal(res.status, 200);
    assert.match(res.text, /data-testid="not-an-application"/);
    assertNothingOfA(res.text);
    const own = await openPage(server, creds(b), "/pages/builds", { repoUuid: "{1}", repoPath: bRepo(), build: String(aBuild.id) });
    assert.equal(own.status, 404);
    assertNothingOfA(own.text);
  });

  it("GET /fragments/panel and /fragments/builds with B's context token", async () => {
    const panel = await withContext(server, creds(b), "/fragments/panel", { repoPath: aRepo() });
    assert.equal(panel.status, 200);
    assertNothingOfA(panel.text);
    const builds = await withContext(server, creds(b), "/fragments/builds", { repoPath: aRepo(), build: String(aBuild.id) });
    assert.equal(builds.status, 200);
    assertNothingOfA(builds.text);
    const ownRepo = await withContext(server, creds(b), "/fragments/builds", { repoPath: bRepo(), region: "build", build: String(aBuild.id) });
    assert.equal(ownRepo.status, 404);
    assertNothingOfA(ownRepo.text);
  });

  it("GET /api/applications/:id/pipelines of A's application with B's context token → 404", async () => {
    const res = await withContext(server, creds(b), `/api/applications/${aApp.id}/pipelines`, { branch: "main" });
    assert.equal(res.status, 404);
    assert.ok(!res.text.includes("secret-of-a"));
    const own = await withContext(server, creds(a), `/api/applications/${aApp.id}/pipelines`, { branch: "main" });
    assert.equal(own.status, 200);
    assert.equal(own.body.custom[0].name, "secret-of-a");
  });

  it("GET /api/builds/:id/steps/:n/log/stream of A's build with B's context token → 404, no log", async () => {
    const bToken = mintToken({ ...creds(b), context: true });
    const res = await readSse(`${server.url}/api/builds/${aBuild.id}/steps/0/log/stream?jwt=${bToken}`);
    assert.equal(res.status, 404);
    assert.ok(!res.body.includes(SECRET_LOG));
    const aToken = mintToken({ ...creds(a), context: true });
    const own = await readSse(`${server.url}/api/builds/${aBuild.id}/steps/0/log/stream?jwt=${aToken}`);
    assert.ok(own.body.includes(SECRET_LOG), "A reads its own log");
  });

  it("GET /badges/…: B's pages never show A's badge token, and the badge shows only a state", async () => {
    const page = await openPage(server, creds(b), "/pages/builds", { repoUuid: "{1}", repoPath: bRepo() });
    assert.ok(!page.text.includes(aApp.badgeToken));
    const res = await request(server.url).get(`/badges/${aApp.badgeToken}/main.svg`);
    assert.equal(res.status, 200);
    const svg = Buffer.isBuffer(res.body) ? res.body.toString("utf8") : res.text;
    assert.ok(!svg.includes(a.workspace) && !svg.includes(String(aBuild.number) + " "), "the badge names nothing");
  });

  it("a context token in the URL is refused everywhere but the log stream; pages refuse context tokens", async () => {
    const token = mintToken({ ...creds(a), context: true });
    for (const path of [`/api/applications/${aApp.id}`, `/api/applications/${aApp.id}/builds`, `/api/applications/${aApp.id}/pipelines`, `/api/builds/${aBuild.id}`, `/api/builds/${aBuild.id}/steps/0/log`, `/fragments/builds?repoPath=${encodeURIComponent(aRepo())}`]) {
      const res = await request(server.url).get(`${path}${path.includes("?") ? "&" : "?"}jwt=${token}`);
      assert.equal(res.status, 401, path);
    }
    for (const path of ["/pages/panel", "/pages/builds"]) {
      const res = await request(server.url).get(`${path}?repoPath=${encodeURIComponent(aRepo())}&jwt=${token}`);
      assert.equal(res.status, 401, path);
    }
  });

  it("nothing of A changed", async () => {
    const after = await server.storage.models.Build.findByPk(aBuild.id);
    assert.equal(after?.state, "SUCCESSFUL");
    assert.equal((await server.storage.models.Application.findByPk(aApp.id))?.autoBuild, true);
  });
});
