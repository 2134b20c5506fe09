import assert from "node:assert/strict";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches } from "../support/build-world";
import { Browser } from "./browser";

const KEY = "standin-consumer";
const SECRET = "consumer-secret-standalone-9c1e";
const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo "standalone build of $BITBUCKET_COMMIT"
          - cat hello.txt
`;

async function connect(server: TestServer, browser: Browser): Promise<void> {
  const hops = await browser.follow(`${server.url}/oauth/connect`);
  assert.deepEqual(hops.map((r) => r.status), [302, 302, 302, 200], await hops.at(-1)!.text());
}

/** A page as the browser gets it: status, headers and HTML. */
async function page(browser: Browser, url: string): Promise<{ status: number; html: string; headers: Headers; location: string | null }> {
  const res = await browser.fetch(url);
  return { status: res.status, html: await res.text(), headers: res.headers, location: res.headers.get("location") };
}

/** What a standalone page's script sends: the session cookie and the workspace in X-Pipelines-Tenant. */
async function call(browser: Browser, url: string, tenantId: number | string, method = "GET", body?: unknown): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { "X-Pipelines-Tenant": String(tenantId), Accept: method === "GET" && url.includes("/fragments/") ? "text/html" : "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await browser.fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

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

function attr(html: string, name: string): string | null {
  return new RegExp(`${name}="([^"]*)"`).exec(html)?.[1] ?? null;
}

describe("standalone pages behind the OAuth session (stand-in)", function () {
  this.timeout(90_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  const alice = new Browser();
  const bob = new Browser();
  let tenantA = 0;
  let tenantB = 0;

  before(async () => {
    bb = await startBitbucketCloud();
    server = await startTestServer({ PIPELINES_OAUTH_KEY: KEY, PIPELINES_OAUTH_SECRET: SECRET, PIPELINES_BITBUCKET_URL: bb.siteUrl, PIPELINES_BITBUCKET_API_URL: bb.apiUrl });
    bb.oauth.addConsumer(KEY, SECRET, `${server.url}/oauth/callback`);
    await bb.createRepository("team-a", "app");
    await bb.createRepository("team-a", "other");
    await bb.createRepository("team-b", "secret-app");
    bb.oauth.addUser("alice", ["team-a"]);
    bb.oauth.addUser("bob", ["team-b"]);
    bb.oauth.loginAs("alice");
    await connect(server, alice);
    bb.oauth.loginAs("bob");
    await connect(server, bob);
    const models = server.storage.models;
    tenantA = (await models.OAuthConnection.findOne({ where: { workspaceSlug: "team-a" } }))!.tenantId;
    tenantB = (await models.OAuthConnection.findOne({ where: { workspaceSlug: "team-b" } }))!.tenantId;
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  it("workspaces → repositories → panel → Create application → push → the build and its live log, with the session", async () => {
    // The workspace list: only alice's.
    const home = await page(alice, `${server.url}/app`);
    assert.equal(home.status, 200, home.html);
    assert.match(home.html, /data-workspace="team-a"/);
    assert.doesNotMatch(home.html, /team-b/);
    assert.match(home.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
    assert.equal(home.headers.get("x-frame-options"), "DENY");

    // The workspace: no application yet, its repositories from Bitbucket, each to its panel.
    const ws = await page(alice, `${server.url}/app/team-a`);
    assert.equal(ws.status, 200, ws.html);
    assert.match(ws.html, /data-testid="no-applications"/);
    assert.match(ws.html, new RegExp(`href="${server.url}/app/team-a/app" data-testid="repository"`));
    assert.match(ws.html, /data-repository="team-a\/other"/);

    // The repository panel: the Connect panel's view, marked as a session page, no AP script, not frameable.
    const panel = await page(alice, `${server.url}/app/team-a/app`);
    assert.equal(panel.status, 200, panel.html);
    assert.match(panel.html, /data-testid="create-application"/);
    assert.match(panel.html, new RegExp(`<body class="panel-body" data-auth="session" data-tenant="${tenantA}">`));
    assert.match(panel.html, /\/static\/pipelines\.js/);
    assert.doesNotMatch(panel.html, /atlassian-connect\/all\.js/);
    assert.match(panel.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'.*script-src 'self';/);

    // "Create application" as panel.js does it: the JSON API with the cookie and the tenant header, then the fragment.
    const created = await call(alice, `${server.url}/api/applications`, tenantA, "POST", { repository: "team-a/app" });
    assert.equal(created.status, 201, created.text);
    const appId = (JSON.parse(created.text) as { id: number }).id;
    assert.equal(bb.hooks("team-a", "app").length, 1, "the repository webhook was created");
    const fragment = await call(alice, `${server.url}/fragments/panel?repoPath=team-a/app`, tenantA);
    assert.equal(fragment.status, 200, fragment.text);
    assert.equal(attr(fragment.text, "data-application-id"), String(appId));
    assert.match(fragment.text, new RegExp(`href="${server.url}/app/team-a/app/builds"[^>]*data-testid="all-builds"`));
    // The workspace page lists it now.
    assert.match((await page(alice, `${server.url}/app/team-a`)).html, /data-testid="application" data-repository="team-a\/app"/);

    // Push: the hook delivers, the build runs.
    const { commit } = await bb.oauth.pushAndDeliver("team-a", "app", { files: { "bitbucket-pipelines.yml": PIPELINE, "hello.txt": "hello standalone\n" } }, { requestUuid: "sa-1" });
    const build = await buildReaches(server, appId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(build.state, "SUCCESSFUL");

    // The builds page lists it, linking to itself (not to Bitbucket); with ?build= the build and its steps.
    const builds = await page(alice, `${server.url}/app/team-a/app/builds`);
    assert.equal(builds.status, 200, builds.html);
    assert.match(builds.html, new RegExp(`data-testid="build-row" data-build-id="${build.id}" data-state="SUCCESSFUL"`));
    assert.match(builds.html, new RegExp(`href="${server.url}/app/team-a/app/builds\\?build(=|&#x3D;)${build.id}"`));
    assert.match(builds.html, /\/static\/builds\.js/);
    const one = await page(alice, `${server.url}/app/team-a/app/builds?build=${build.id}`);
    assert.equal(one.status, 200);
    assert.match(one.html, /data-testid="build-view"/);
    const list = await call(alice, `${server.url}/fragments/builds?repoPath=team-a/app&region=list,build&build=${build.id}`, tenantA);
    assert.equal(list.status, 200, list.text);
    assert.match(list.text, /data-testid="build-view"/);

    // The live log as builds.js opens it: EventSource (no headers) with the cookie and ?tenant=.
    const stream = await alice.fetch(`${server.url}/api/builds/${build.id}/steps/0/log/stream?tenant=${tenantA}`);
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get("content-type") ?? "", /text\/event-stream/);
    const log = await readStream(stream);
    assert.match(log.html, /hello standalone/);
    assert.equal(log.end, "SUCCESSFUL");

    // The status's link leads to the standalone builds page.
    const status = await page(alice, `${server.url}/oauth/builds/${build.id}`);
    assert.match(status.html, new RegExp(`href="${server.url}/app/team-a/app/builds\\?build(=|&#x3D;)${build.id}"`));

    // Settings: the configure page, its SSH key, the session's user; "Add to my Bitbucket account" with the session.
    const settings = await page(alice, `${server.url}/app/team-a/settings`);
    assert.equal(settings.status, 200, settings.html);
    assert.match(settings.html, /ssh-ed25519 /);
    assert.match(settings.html, /data-auth="session"/);
    assert.match(settings.html, /data-testid="standalone-revoke"/);
    assert.match(settings.html, /id="permissions-table"/);
    // The scope check goes through the connection's own token (not only Connect's JWT).
    assert.doesNotMatch(settings.html, /Could not check what Bitbucket granted/);
    assert.match(settings.html, /Bitbucket granted every scope Pipelines needs|scopes? (is|are) missing/);
    const added = await call(alice, `${server.url}/api/ssh-key/bitbucket`, tenantA, "POST");
    assert.equal(added.status, 201, added.text);
    assert.match((await page(alice, `${server.url}/app/team-a/settings`)).html, /Added to your Bitbucket account/);

    // No secret in any page.
    for (const html of [home.html, ws.html, panel.html, builds.html, one.html, settings.html]) {
      assert.ok(!html.includes(SECRET));
      assert.doesNotMatch(html, /PRIVATE KEY/);
      assert.doesNotMatch(html, /v1\.[A-Za-z0-9_-]{20,}/, "no sealed token");
    }
  });

  it("another workspace's pages, fragments, API and live log are 404 to a non-member", async () => {
    const created = await call(bob, `${server.url}/api/applications`, tenantB, "POST", { repository: "team-b/secret-app" });
    assert.equal(created.status, 201, created.text);
    const { commit } = await bb.oauth.pushAndDeliver("team-b", "secret-app", { files: { "bitbucket-pipelines.yml": PIPELINE, "hello.txt": "bob's\n" } }, { requestUuid: "sb-1" });
    const build = await buildReaches(server, (JSON.parse(created.text) as { id: number }).id, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);

    for (const p of ["/app/team-b", "/app/team-b/settings", "/app/team-b/secret-app", "/app/team-b/secret-app/builds", `/app/team-b/secret-app/builds?build=${build.id}`]) {
      const r = await page(alice, `${server.url}${p}`);
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(r.html, /secret-app\/builds|bob's/);
    }
    assert.equal((await call(alice, `${server.url}/fragments/builds?repoPath=team-b/secret-app`, tenantB)).status, 404);
    assert.equal((await call(alice, `${server.url}/api/builds/${build.id}`, tenantB)).status, 404);
    // alice's own workspace header does not reach bob's build either.
    assert.equal((await call(alice, `${server.url}/api/builds/${build.id}`, tenantA)).status, 404);
    const fragment = await call(alice, `${server.url}/fragments/builds?repoPath=team-b/secret-app&build=${build.id}`, tenantA);
    assert.equal(fragment.status, 200);
    assert.match(fragment.text, /data-testid="not-an-application"|is not built by Pipelines/);
    assert.equal((await alice.fetch(`${server.url}/api/builds/${build.id}/steps/0/log/stream?tenant=${tenantB}`)).status, 404);
    assert.equal((await alice.fetch(`${server.url}/api/builds/${build.id}/steps/0/log/stream?tenant=${tenantA}`)).status, 404);
    // bob sees his.
    assert.equal((await page(bob, `${server.url}/app/team-b/secret-app/builds?build=${build.id}`)).status, 200);
  });

  it("without a session: pages redirect to sign in, the API, fragments and the live log answer 401", async () => {
    const anon = new Browser();
    for (const p of ["/app", "/app/team-a", "/app/team-a/app/builds", "/app/team-a/settings"]) {
      const r = await page(anon, `${server.url}${p}`);
      assert.equal(r.status, 302, p);
      assert.equal(r.location, "/oauth");
    }
    assert.equal((await call(anon, `${server.url}/api/applications`, tenantA)).status, 401);
    assert.equal((await call(anon, `${server.url}/fragments/panel?repoPath=team-a/app`, tenantA)).status, 401);
    assert.equal((await anon.fetch(`${server.url}/api/builds/1/steps/0/log/stream?tenant=${tenantA}`)).status, 401);
    // A session cookie without the tenant header is refused for state changes (the CSRF guard): 400, nothing made.
    const res = await alice.fetch(`${server.url}/api/applications`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ repository: "team-a/other" }) });
    assert.equal(res.status, 400);
    assert.equal(bb.hooks("team-a", "other").length, 0);
  });
});
