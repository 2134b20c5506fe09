import assert from "node:assert/strict";
import vm from "node:vm";
import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { insertBuild } from "../api/api-support";
import { contextAuth, decodeHtml, installWorkspace, openPage, withContext, type Workspace } from "./pages-support";

const PIPELINE = `pipelines:
  default:
    - step:
        script: ["echo default"]
  branches:
    main:
      - step:
          script: ["echo main"]
  custom:
    deploy:
      - variables:
          - name: TARGET
            default: staging
            allowed-values: [staging, production]
          - name: NOTE
            description: Why
      - step:
          script: ["echo $TARGET"]
    nightly:
      - step:
          script: ["echo nightly"]
`;

/** The repository panel, its fragment, and the "Build now" route behind it. */
describe("repository panel", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  let w: Workspace;
  let applicationId: number;

  before(async () => {
    bb = await startBitbucketCloud();
    server = await startTestServer({}, {});
    w = await installWorkspace(bb, server, "panel");
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  const panel = () => openPage(server, w, "/pages/panel", { repoUuid: "{1}", repoPath: `${w.workspace}/${w.slug}` });

  it("for a repository that is not an application: a Create button, scripts from /static only, framed by the tenant's Bitbucket only", async () => {
    const res = await panel();
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /data-testid="create-application"/);
    assert.doesNotMatch(res.text, /auto-build-switch/);
    const csp = String(res.headers["content-security-policy"]);
    assert.equal(csp.split("; ")[0], `frame-ancestors ${new URL(bb.siteUrl).origin}`);
    assert.match(csp, /script-src 'self' http:\/\/127\.0\.0\.1:\d+;/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers["cache-control"], "no-store");
    assert.equal(res.headers["referrer-policy"], "no-referrer");
    // No inline script: every <script> has a src, from the app's /static or the tenant's AP script.
    const scripts = [...res.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 3);
    for (const [, attrs, body] of scripts) {
      assert.equal(body.trim(), "");
      assert.match(attrs, new RegExp(`src="(${server.url}/static/[a-z-]+\\.js|${bb.siteUrl}/atlassian-connect/all\\.js)"`));
    }
    assert.doesNotMatch(res.text, /\son[a-z]+=/i, "no inline event handlers");
    assert.ok(!res.text.includes(w.secret));
  });

  it("the scripts and stylesheet it names are served by the app, and the scripts compile", async () => {
    for (const asset of ["pipelines.js", "panel.js", "builds.js", "pipelines.css"]) {
      const res = await request(server.url).get(`/static/${asset}`);
      assert.equal(res.status, 200, asset);
      if (asset.endsWith(".js")) assert.doesNotThrow(() => new vm.Script(res.text, { filename: asset }), asset);
    }
  });

  it("after Create (POST /api/applications with a context token): the switch, the main branch and its latest build, the last five builds, Build now", async () => {
    const created = await request(server.url).post("/api/applications").set("Authorization", contextAuth(w)).send({ repository: `${w.workspace}/${w.slug}` });
    assert.equal(created.status, 201, created.text);
    applicationId = created.body.id as number;
    const app = await server.storage.models.Application.findByPk(applicationId);
    assert.ok(app);
    assert.equal(app.mainBranch, "main", "the main branch is stored when the application is made");
    assert.match(app.badgeToken, /^[A-Za-z0-9_-]{43}$/);

    let res = await panel();
    assert.match(res.text, /data-testid="auto-build-switch" checked/);
    assert.match(res.text, /data-testid="main-build-none"/);
    assert.match(res.text, /data-testid="recent-builds-none"/);
    assert.match(res.text, /data-testid="build-now-branch" value="main"|value="main"[^>]*data-testid="build-now-branch"/);

    const mainBuild = await insertBuild(server.storage.models, app, { state: "FAILED", refName: "main" });
    for (let i = 0; i < 6; i++) await insertBuild(server.storage.models, app, { state: i === 5 ? "RUNNING" : "SUCCESSFUL", refName: `feature/${i}` });
    res = await panel();
    const main = /data-testid="main-build" data-build-id="(\d+)" data-state="(\w+)"/.exec(res.text);
    assert.deepEqual(main?.slice(1), [String(mainBuild.id), "FAILED"]);
    assert.match(res.text, /<span class="lozenge failed" data-testid="build-state">failed<\/span>/);
    const recent = [...res.text.matchAll(/data-testid="recent-build" data-build-id="(\d+)" data-state="(\w+)"/g)];
    assert.equal(recent.length, 5, "the last five");
    assert.equal(recent[0][2], "RUNNING");
    assert.ok(!recent.some((m) => m[1] === String(mainBuild.id)), "the oldest builds are not among the last five");
    assert.match(res.text, /<option value="feature\/5">/, "recent branches are offered in the branch picker");
    assert.match(decodeHtml(res.text), new RegExp(`href="${bb.siteUrl}/${w.workspace}/${w.slug}/addon/[^/]+/pipelines-builds\\?build=${mainBuild.id}" target="_top"`));
  });

  it("GET /fragments/panel gives the same regions to the panel's script, with a context token in the header only", async () => {
    const res = await withContext(server, w, "/fragments/panel", { repoPath: `${w.workspace}/${w.slug}` });
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /data-region="panel-builds"/);
    assert.doesNotMatch(res.text, /<html|<script/);
    const viaQuery = await request(server.url).get(`/fragments/panel?repoPath=${w.workspace}%2F${w.slug}&jwt=${contextAuth(w).slice(4)}`);
    assert.equal(viaQuery.status, 401);
    const pageToken = openPage(server, w, "/fragments/panel", { repoPath: `${w.workspace}/${w.slug}` });
    assert.equal((await pageToken).status, 401, "a page (normal) token is not a context token");
  });

  it("the switch turns auto-build off (PATCH with a context token) and the panel shows it", async () => {
    const res = await request(server.url).patch(`/api/applications/${applicationId}`).set("Authorization", contextAuth(w)).send({ autoBuild: false });
    assert.equal(res.status, 200);
    assert.match((await panel()).text, /data-testid="auto-build-switch">/);
  });

  it("GET /api/applications/:id/pipelines lists the branch's pipeline and the custom ones with their variables", async () => {
    await bb.commit(w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": PIPELINE }, message: "pipelines" });
    const res = await withContext(server, w, `/api/applications/${applicationId}/pipelines`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.branch, "main");
    assert.match(res.body.commit, /^[0-9a-f]{40}$/);
    assert.equal(res.body.file, "present");
    assert.equal(res.body.branchPipeline, "branches: main");
    assert.deepEqual(res.body.custom, [
      { name: "deploy", variables: [{ name: "TARGET", default: "staging", allowedValues: ["staging", "production"] }, { name: "NOTE", description: "Why" }] },
      { name: "nightly", variables: [] },
    ]);
    const unknown = await withContext(server, w, `/api/applications/${applicationId}/pipelines`, { branch: "nope" });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, /does not know branch "nope"/);
    assert.equal((await withContext(server, w, `/api/applications/${applicationId}/pipelines`, { branch: "a..b" })).status, 400);
  });

  it("a broken or missing pipeline file is said so, with the line", async () => {
    await bb.commit(w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": "pipelines:\n  default:\n    - step:\n        script: [\n" }, message: "broken", branch: "broken" });
    const res = await withContext(server, w, `/api/applications/${applicationId}/pipelines`, { branch: "broken" });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.file, "broken");
    assert.match(res.body.errors[0], /^bitbucket-pipelines\.yml:\d+/);
  });

  it("a repository renamed since it became an application is still found, by its uuid", async () => {
    const app = await server.storage.models.Application.findByPk(applicationId);
    assert.ok(app?.repositoryUuid);
    const res = await openPage(server, w, "/pages/panel", { repoUuid: app.repositoryUuid, repoPath: `${w.workspace}/renamed` });
    assert.match(res.text, new RegExp(`data-application-id="${applicationId}"`));
    const other = await openPage(server, w, "/pages/panel", { repoUuid: "{00000000-0000-0000-0000-000000000000}", repoPath: `${w.workspace}/renamed` });
    assert.match(other.text, /data-testid="create-application"/);
  });

  it("a page needs the repository it is opened for", async () => {
    const res = await openPage(server, w, "/pages/panel", { repoUuid: "{1}" });
    assert.equal(res.status, 400);
  });
});
