import assert from "node:assert/strict";
import fs from "node:fs";
import { startBitbucketServer, type BitbucketServerStandin } from "../standin/server";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches, eventually } from "../support/build-world";
import { Browser } from "../oauth/browser";
import { addServerConnection } from "../../src/forges/server/server-connections";
import { enableServerAutoBuild } from "../../src/forges/server/server-webhooks";
import type { Tenant } from "../../src/db/models";

const PIPELINE = "pipelines:\n  default:\n    - step:\n        name: Build\n        script:\n          - cat hello.txt\n";
const ALICE_PW = "alice-Pa55word-7f3e";
const BOB_PW = "bob-Pa55word-1c9d";
const SVC_PW = "svc-Pa55word-55aa";

/** Reads a live log stream (server-sent events) to its `end` event: the HTML of the lines and the final state. */
async function readStream(res: Response): Promise<{ html: string; end: string | null }> {
  const text = await res.text();
  let html = "";
  let end: string | null = null;
  for (const block of text.split("\n\n")) {
    const lines = block.split("\n");
    const data = lines.find((l) => l.startsWith("data: "))?.slice(6);
    if (!data) continue;
    if (lines.includes("event: end")) end = (JSON.parse(data) as { state: string }).state;
    else if (!lines.some((l) => l.startsWith("event: "))) html += (JSON.parse(data) as { html: string }).html;
  }
  return { html, end };
}

/**
 * The Bitbucket Server login door to the standalone pages, against the Server stand-in (HTTP clone, no sshd):
 * credentials checked with the Server and never stored; the session keeps the repositories the user can read.
 */
describe("Bitbucket Server sign-in and the standalone builds page (stand-in)", function () {
  this.timeout(90_000);
  let bbs: BitbucketServerStandin;
  let server: TestServer;
  let tenant: Tenant;
  let other: Tenant;
  const alice = new Browser();
  const bob = new Browser();

  const login = (browser: Browser, fields: Record<string, string>) =>
    browser.fetch(`${server.url}/server/login`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString() });
  const sessions = () => server.storage.models.OAuthSession.count();

  before(async () => {
    bbs = await startBitbucketServer({ ssh: false });
    bbs.users.set("svc", { password: SVC_PW });
    bbs.users.set("alice", { password: ALICE_PW, reads: ["PROJ/web"] });
    bbs.users.set("bob", { password: BOB_PW, reads: ["PROJ/secret"] });
    bbs.users.set("carol", { token: "carol-pat-0b1d", reads: ["PROJ/web"] });
    await bbs.createRepository("PROJ/web");
    await bbs.createRepository("PROJ/secret");
    server = await startTestServer();
    const models = server.storage.models;
    tenant = (await addServerConnection(models, { host: bbs.url, username: "svc", secret: SVC_PW, sshPort: 7999, cloneProtocol: "http" })).tenant;
    other = (await addServerConnection(models, { host: bbs.url, username: "svc", secret: SVC_PW, sshPort: 7999, cloneProtocol: "http" })).tenant;
    await enableServerAutoBuild(models, tenant, "PROJ/web", server.url);
    await enableServerAutoBuild(models, tenant, "PROJ/secret", server.url);
  });
  after(async () => {
    await server?.stop();
    await bbs?.stop();
  });

  it("the form is served; a wrong password is refused and nothing is stored", async () => {
    const form = await alice.fetch(`${server.url}/server/login?connection=${tenant.id}`);
    assert.equal(form.status, 200);
    const html = await form.text();
    assert.match(html, /<form method="post"[^>]*data-testid="server-login"/);
    assert.match(html, new RegExp(`name="connection" value="${tenant.id}"`));

    const wrong = await login(alice, { connection: String(tenant.id), username: "alice", secret: "not-the-password" });
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /wrong credentials/);
    assert.equal(alice.cookies.size, 0);
    assert.equal(await sessions(), 0);
    // Someone else's token under alice's name is refused too (Server names the token's owner).
    const stolen = await login(alice, { connection: String(tenant.id), username: "alice", secret: "carol-pat-0b1d", token: "1" });
    assert.equal(stolen.status, 401);
    assert.equal(await sessions(), 0);
    // A page without a session sends the browser to the form of its connection.
    const page = await alice.fetch(`${server.url}/server/${tenant.id}/PROJ/web/builds`);
    assert.equal(page.status, 302);
    assert.equal(page.headers.get("location"), `${server.url}/server/login?connection=${tenant.id}`);
    // Not a Server connection.
    assert.equal((await login(alice, { connection: "999", username: "alice", secret: ALICE_PW })).status, 404);
  });

  it("signed in, the builds page of a readable repository lists the build, its log streams, its status links to it", async () => {
    const ok = await login(alice, { connection: String(tenant.id), username: "alice", secret: ALICE_PW });
    assert.equal(ok.status, 303, await ok.text());
    assert.equal(ok.headers.get("location"), `${server.url}/server/${tenant.id}`);
    const cookie = alice.setCookies.at(-1) ?? "";
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    // The user's credentials listed what the user can read.
    assert.ok(bbs.calls.some((c) => c.path === "/rest/api/1.0/repos" && /permission=REPO_READ/.test(c.query) && c.auth === "basic" && c.status === 200));
    const session = await server.storage.models.OAuthSession.findOne();
    assert.equal(session?.userName, "alice");
    // The repositories alice administers are listed too (none here: she may start no deployment).
    assert.deepEqual(JSON.parse(session?.workspaceUuids ?? "{}"), { server: { tenantId: tenant.id, username: "alice", repositories: ["PROJ/web"], adminRepositories: [] } });

    const home = await alice.fetch(`${server.url}/server/${tenant.id}`);
    const homeHtml = await home.text();
    assert.equal(home.status, 200, homeHtml);
    assert.match(homeHtml, new RegExp(`href="${server.url}/server/${tenant.id}/PROJ/web/builds"`));
    assert.ok(!homeHtml.includes("PROJ/secret"));
    assert.match(homeHtml, new RegExp(`<form method="post" action="${server.url}/session/logout" data-testid="sign-out">`));

    const { commit } = await bbs.pushAndNotify("PROJ/web", { "bitbucket-pipelines.yml": PIPELINE, "hello.txt": "hello server pages\n" });
    const app = await server.storage.models.Application.findOne({ where: { tenantId: tenant.id, repository: "PROJ/web" } });
    const build = await buildReaches(server, app!.id, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(build.state, "SUCCESSFUL");

    const pageUrl = `${server.url}/server/${tenant.id}/PROJ/web/builds`;
    const builds = await alice.fetch(pageUrl);
    const buildsHtml = await builds.text();
    assert.equal(builds.status, 200, buildsHtml);
    assert.match(buildsHtml, /data-auth="session"/);
    assert.match(buildsHtml, new RegExp(`data-tenant="${tenant.id}"`));
    assert.match(buildsHtml, new RegExp(`data-testid="build-row" data-build-id="${build.id}" data-state="SUCCESSFUL"`));
    assert.match(buildsHtml, new RegExp(`href="${pageUrl}\\?build(=|&#x3D;)${build.id}"`));
    const one = await alice.fetch(`${pageUrl}?build=${build.id}`);
    assert.equal(one.status, 200);
    assert.match(await one.text(), /data-testid="build-view"/);

    // What the page's script calls: fragments and the JSON API with X-Pipelines-Tenant, the live log with ?tenant=.
    const headers = { "X-Pipelines-Tenant": String(tenant.id), Accept: "text/html" };
    const fragment = await alice.fetch(`${server.url}/fragments/builds?repoPath=PROJ/web&region=list,build&build=${build.id}`, { headers });
    assert.equal(fragment.status, 200);
    assert.match(await fragment.text(), /data-testid="build-view"/);
    const api = await alice.fetch(`${server.url}/api/builds/${build.id}`, { headers: { ...headers, Accept: "application/json" } });
    assert.equal(api.status, 200);
    const stream = await alice.fetch(`${server.url}/api/builds/${build.id}/steps/0/log/stream?tenant=${tenant.id}`);
    assert.equal(stream.status, 200);
    const log = await readStream(stream);
    assert.match(log.html, /hello server pages/);
    assert.equal(log.end, "SUCCESSFUL");
    // Reading only: REPO_READ does not stop or rerun builds.
    const rerun = await alice.fetch(`${server.url}/api/builds/${build.id}/rerun`, { method: "POST", headers: { ...headers, Accept: "application/json", "Content-Type": "application/json" }, body: "{}" });
    assert.equal(rerun.status, 403);

    // The status posted to the Server links to that page.
    const status = await eventually("a SUCCESSFUL status", async () => bbs.statusesOf(commit.hash).find((s) => s.body.state === "SUCCESSFUL"));
    assert.equal(status.body.url, `${pageUrl}?build=${build.id}`);
  });

  it("an unreadable repository, another connection and another user's session are 404", async () => {
    const models = server.storage.models;
    const { commit } = await bbs.pushAndNotify("PROJ/secret", { "bitbucket-pipelines.yml": PIPELINE, "hello.txt": "secret\n" });
    const secretApp = await models.Application.findOne({ where: { tenantId: tenant.id, repository: "PROJ/secret" } });
    const secretBuild = await buildReaches(server, secretApp!.id, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    const webBuild = await models.Build.findOne({ where: { tenantId: tenant.id }, order: [["id", "ASC"]] });

    // alice cannot read PROJ/secret.
    assert.equal((await alice.fetch(`${server.url}/server/${tenant.id}/PROJ/secret/builds`)).status, 404);
    const h = { "X-Pipelines-Tenant": String(tenant.id), Accept: "application/json" };
    assert.equal((await alice.fetch(`${server.url}/api/builds/${secretBuild.id}`, { headers: h })).status, 404);
    assert.equal((await alice.fetch(`${server.url}/api/builds/${secretBuild.id}/steps/0/log/stream?tenant=${tenant.id}`)).status, 404);
    assert.equal((await alice.fetch(`${server.url}/fragments/builds?repoPath=PROJ/secret&region=list`, { headers: { ...h, Accept: "text/html" } })).status, 404);
    assert.equal((await alice.fetch(`${server.url}/api/applications/${secretApp!.id}/builds`, { headers: h })).status, 404);
    // Another connection (even to the same Server) is not the one alice signed in to.
    assert.equal((await alice.fetch(`${server.url}/server/${other.id}/PROJ/web/builds`)).status, 404);
    assert.equal((await alice.fetch(`${server.url}/api/builds/${webBuild!.id}`, { headers: { ...h, "X-Pipelines-Tenant": String(other.id) } })).status, 404);
    // Nor does a Server session open the Cloud standalone pages.
    assert.equal((await alice.fetch(`${server.url}/api/applications`, { headers: h })).status, 404);

    // bob signs in and sees PROJ/secret, never PROJ/web.
    assert.equal((await login(bob, { connection: String(tenant.id), username: "bob", secret: BOB_PW })).status, 303);
    assert.equal((await bob.fetch(`${server.url}/server/${tenant.id}/PROJ/secret/builds`)).status, 200);
    assert.equal((await bob.fetch(`${server.url}/server/${tenant.id}/PROJ/web/builds`)).status, 404);
    assert.equal((await bob.fetch(`${server.url}/api/builds/${webBuild!.id}/steps/0/log/stream?tenant=${tenant.id}`)).status, 404);

    // A personal access token signs its owner in.
    const carol = new Browser();
    assert.equal((await login(carol, { connection: String(tenant.id), username: "carol", secret: "carol-pat-0b1d", token: "1" })).status, 303);
    assert.equal((await carol.fetch(`${server.url}/server/${tenant.id}/PROJ/web/builds`)).status, 200);
  });

  it("no password or token in the database or the logs", async () => {
    const secrets = [ALICE_PW, BOB_PW, "not-the-password", "carol-pat-0b1d", Buffer.from(`alice:${ALICE_PW}`).toString("base64")];
    const logs = server.logs.join("\n");
    for (const s of secrets) assert.ok(!logs.includes(s), `the logs hold ${s}`);
    if (server.sqliteFile) {
      const files = [server.sqliteFile, `${server.sqliteFile}-wal`].filter((f) => fs.existsSync(f));
      for (const f of files) {
        const bytes = fs.readFileSync(f);
        for (const s of secrets) assert.ok(!bytes.includes(Buffer.from(s)), `${f} holds ${s}`);
      }
    }
    const rows = (await server.storage.models.sequelize.query("SELECT * FROM oauth_sessions"))[0];
    for (const s of secrets) assert.ok(!JSON.stringify(rows).includes(s));
  });

  it("signing out deletes the session: the old cookie opens nothing any more", async () => {
    const dave = new Browser();
    assert.equal((await login(dave, { connection: String(tenant.id), username: "carol", secret: "carol-pat-0b1d", token: "1" })).status, 303);
    const copied = dave.cookieHeader();
    const pageUrl = `${server.url}/server/${tenant.id}/PROJ/web/builds`;
    assert.equal((await dave.fetch(pageUrl)).status, 200);
    const out = await dave.fetch(`${server.url}/session/logout`, { method: "POST" });
    assert.equal(out.status, 303);
    assert.equal(dave.cookies.size, 0, "the cookie is cleared");
    // Even a copy of the cookie is worthless now: the session row is gone.
    const replay = await fetch(pageUrl, { headers: { Cookie: copied }, redirect: "manual" });
    assert.equal(replay.status, 302);
    assert.match(replay.headers.get("location") ?? "", /\/server\/login/);
  });
});
