import assert from "node:assert/strict";
import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { installWorld, type World } from "../support/build-world";
import { insertBuild } from "../api/api-support";
import { withContext } from "./pages-support";
import type { Application } from "../../src/db/models";

/** GET /badges/<token>/<branch>.svg — public, unguessable, cached briefly. */
describe("status badge", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  let w: World;
  let app: Application;

  before(async () => {
    bb = await startBitbucketCloud();
    server = await startTestServer();
    w = await installWorld(bb, server, "badge");
    const found = await server.storage.models.Application.findByPk(w.applicationId);
    assert.ok(found);
    app = found;
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  const badge = (branch: string, token = app.badgeToken) => request(server.url).get(`/badges/${token}/${branch}.svg`);
  const fillOf = (svg: string) => /<rect x="\d+" width="\d+" height="20" fill="(#[0-9a-f]{6})"\/>/.exec(svg)?.[1];

  it("says the state of the branch's newest finished build, in its colour", async () => {
    const models = server.storage.models;
    let res = await badge("main");
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^image\/svg\+xml/);
    const svg = () => res.body instanceof Buffer ? res.body.toString("utf8") : res.text;
    assert.match(svg(), /<title>pipelines: no builds<\/title>/);
    assert.equal(fillOf(svg()), "#626f86");

    await insertBuild(models, app, { state: "SUCCESSFUL", refName: "main" });
    res = await badge("main");
    assert.match(svg(), /pipelines: passing/);
    assert.equal(fillOf(svg()), "#1f845a");

    await insertBuild(models, app, { state: "FAILED", refName: "main" });
    // A build still running does not change the badge: it shows the last result.
    await insertBuild(models, app, { state: "RUNNING", refName: "main" });
    res = await badge("main");
    assert.match(svg(), /pipelines: failing/);
    assert.equal(fillOf(svg()), "#c9372c");

    await insertBuild(models, app, { state: "STOPPED", refName: "release/1.x" });
    res = await badge("release/1.x");
    assert.match(svg(), /pipelines: stopped/);
    res = await badge("release%2F1.x");
    assert.match(svg(), /pipelines: stopped/, "an encoded slash is the same branch");
    assert.doesNotMatch(svg(), /<script|href=|xlink/);
  });

  it("shows the branch's own pipeline only: not a custom pipeline run on it, not a build a newer commit superseded; 'running' only before its first result", async () => {
    const models = server.storage.models;
    const svg = (res: request.Response) => (res.body instanceof Buffer ? res.body.toString("utf8") : res.text);
    await insertBuild(models, app, { state: "RUNNING", refName: "first-run" });
    assert.match(svg(await badge("first-run")), /pipelines: running/, "never 'no builds' while one runs");
    await insertBuild(models, app, { state: "SUCCESSFUL", refName: "first-run" });
    await insertBuild(models, app, { state: "FAILED", refName: "first-run", pipelineName: "custom: nightly", pipelineKey: "custom/nightly" });
    await insertBuild(models, app, { state: "STOPPED", refName: "first-run", stateReason: "superseded by #99 (a newer commit on first-run)" });
    await insertBuild(models, app, { state: "QUEUED", refName: "first-run" });
    assert.match(svg(await badge("first-run")), /pipelines: passing/);
    // The builds page names the build its badge shows, so a finished build is a new address the browser fetches.
    const latest = await models.Build.findOne({ where: { applicationId: app.id, refName: "first-run", state: "SUCCESSFUL" }, order: [["id", "DESC"]] });
    const page = await withContext(server, w, "/fragments/builds", { repoPath: `${w.workspace}/${w.slug}`, region: "badge", branch: "first-run" });
    assert.match(page.text, new RegExp(`data-testid="badge-image"`));
    assert.match(page.text.replace(/&#x3D;/g, "="), new RegExp(`/first-run\\.svg\\?v=${latest?.id}-SUCCESSFUL"`));
  });

  it("is cached briefly and revalidated with its ETag", async () => {
    const res = await badge("main");
    assert.match(String(res.headers["cache-control"]), /^public, max-age=60\b/);
    const etag = res.headers.etag;
    assert.match(String(etag), /^"[A-Za-z0-9_-]+"$/);
    assert.equal(res.headers["x-content-type-options"], "nosniff");
    assert.match(String(res.headers["content-security-policy"]), /default-src 'none'/);
    const again = await badge("main").set("If-None-Match", String(etag));
    assert.equal(again.status, 304);
    await insertBuild(server.storage.models, app, { state: "SUCCESSFUL", refName: "main" });
    const changed = await badge("main").set("If-None-Match", String(etag));
    assert.equal(changed.status, 200, "a new result makes a new ETag");
  });

  it("an unknown or malformed token, or a branch git would refuse, is a 404 that tells nothing", async () => {
    const other = app.badgeToken.startsWith("A") ? `B${app.badgeToken.slice(1)}` : `A${app.badgeToken.slice(1)}`;
    for (const res of [await badge("main", other), await badge("main", "short"), await badge("a..b")]) {
      assert.equal(res.status, 404);
      assert.doesNotMatch(res.text, new RegExp(app.repository));
    }
  });

  it("every application has its own token, and an uninstalled workspace's badges are gone", async () => {
    const v = await installWorld(bb, server, "badge-gone");
    const vApp = await server.storage.models.Application.findByPk(v.applicationId);
    assert.ok(vApp && vApp.badgeToken !== app.badgeToken);
    assert.equal((await badge("main", vApp.badgeToken)).status, 200);
    await bb.uninstall(server.url, v.clientKey);
    assert.equal((await badge("main", vApp.badgeToken)).status, 404);
  });
});
