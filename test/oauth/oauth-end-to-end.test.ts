import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches, eventually, stepLog } from "../support/build-world";
import { FIXTURES } from "../support/install";
import { verifyHubSignature } from "../../src/intake/verify-hub-signature";
import type { Tenant } from "../../src/db/models";
import { Browser } from "./browser";

const KEY = "standin-consumer";
const SECRET = "consumer-secret-never-logged-7f3a";
const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo "built $BITBUCKET_COMMIT"
          - cat hello.txt
`;

/** "Connect Bitbucket" → Bitbucket's authorize page (approves at once) → callback; the browser ends signed in. */
async function connect(server: TestServer, browser: Browser): Promise<Response[]> {
  const hops = await browser.follow(`${server.url}/oauth/connect`);
  assert.deepEqual(hops.map((r) => r.status), [302, 302, 302, 200], await hops.at(-1)!.text());
  return hops;
}

interface Connection {
  tenantId: number;
  workspace: string;
  state: string;
  reason: string | null;
}

/** The fields of the API's answers these tests read. */
interface ApiJson {
  id: number;
  user: { uuid: string };
  values: Connection[];
  leftOnBitbucket: string[];
}

async function api(server: TestServer, browser: Browser, method: string, p: string, tenantId?: number, body?: unknown): Promise<{ status: number; json: ApiJson; text: string }> {
  const headers: Record<string, string> = {};
  if (tenantId !== undefined) headers["X-Pipelines-Tenant"] = String(tenantId);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await browser.fetch(`${server.url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = {} as ApiJson;
  try {
    json = JSON.parse(text) as ApiJson;
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, text };
}

describe("Bitbucket Cloud through an OAuth consumer (stand-in)", function () {
  this.timeout(90_000);
  let bb: BitbucketCloud;
  let server: TestServer;

  before(async () => {
    bb = await startBitbucketCloud();
    server = await startTestServer({ PIPELINES_OAUTH_KEY: KEY, PIPELINES_OAUTH_SECRET: SECRET, PIPELINES_BITBUCKET_URL: bb.siteUrl, PIPELINES_BITBUCKET_API_URL: bb.apiUrl });
    bb.oauth.addConsumer(KEY, SECRET, `${server.url}/oauth/callback`);
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  it("shows the callback URL to register on the setup page, never the secret", async () => {
    const res = await fetch(`${server.url}/oauth/setup`);
    const html = await res.text();
    assert.equal(res.status, 200);
    assert.ok(html.includes(`${server.url}/oauth/callback`));
    assert.ok(html.includes("webhook") && html.includes("account:write"));
    assert.ok(!html.includes(SECRET));
  });

  it("connect → application → hook → push → build → status → SSH key → disconnect: hooks, key and tokens gone", async () => {
    const models = server.storage.models;
    await bb.createRepository("acme-oauth", "app");
    const alice = bb.oauth.addUser("alice", ["acme-oauth"]);
    bb.oauth.loginAs("alice");
    const browser = new Browser();
    const hops = await connect(server, browser);
    const authorize = new URL(hops[0].headers.get("location")!);
    assert.equal(authorize.origin + authorize.pathname, `${bb.siteUrl}/site/oauth2/authorize`);
    assert.equal(authorize.searchParams.get("client_id"), KEY);
    assert.equal(authorize.searchParams.get("response_type"), "code");
    assert.match(authorize.searchParams.get("state") ?? "", /^[A-Za-z0-9_-]{32}$/);
    // The session cookie: HttpOnly, SameSite=Lax (Secure only over https; this test server is http).
    assert.ok(browser.setCookies.length >= 2);
    for (const line of browser.setCookies) {
      assert.match(line, /HttpOnly/i);
      assert.match(line, /SameSite=Lax/i);
      assert.doesNotMatch(line, /Secure/i);
    }
    // The code was exchanged with the consumer's credentials (Basic).
    const exchange = bb.calls.find((c) => c.path === "/site/oauth2/access_token" && (c.body as Record<string, string>)?.grant_type === "authorization_code");
    assert.equal(exchange?.status, 200);
    assert.match(String(exchange?.headers.authorization), /^Basic /);

    const conns = await api(server, browser, "GET", "/api/oauth/connections");
    assert.equal(conns.status, 200, conns.text);
    assert.equal(conns.json.user.uuid, alice.uuid);
    assert.deepEqual(conns.json.values.map((c) => [c.workspace, c.state]), [["acme-oauth", "connected"]]);
    const tenantId = conns.json.values[0].tenantId;
    const tenant = (await models.Tenant.findByPk(tenantId)) as Tenant;
    assert.equal(tenant.kind, "cloud-oauth");
    // Tokens are stored sealed.
    const rows = (await models.sequelize.query(`SELECT purpose, token FROM access_tokens WHERE tenant_id = ${tenantId}`))[0] as { purpose: string; token: string }[];
    assert.deepEqual(rows.map((r) => r.purpose).sort(), ["oauth-access", "oauth-refresh"]);
    for (const r of rows) assert.match(r.token, /^v1\./);

    // Create the application through the same JSON API the Connect pages use, with the session.
    const created = await api(server, browser, "POST", "/api/applications", tenantId, { repository: "acme-oauth/app" });
    assert.equal(created.status, 201, created.text);
    const [hook] = bb.hooks("acme-oauth", "app");
    assert.ok(hook, "a webhook was created");
    assert.match(hook.url, new RegExp(`^${server.url}/webhook/cloud/[A-Za-z0-9_-]+$`));
    assert.deepEqual([...hook.events].sort(), ["pullrequest:created", "pullrequest:fulfilled", "pullrequest:rejected", "pullrequest:updated", "repo:push"]);
    assert.ok(hook.secretSet && /^[0-9a-f]{64}$/.test(hook.secret ?? ""));

    const { commit, deliveries } = await bb.oauth.pushAndDeliver("acme-oauth", "app", { files: { "bitbucket-pipelines.yml": PIPELINE, "hello.txt": "hello over oauth\n" } }, { requestUuid: "req-1" });
    assert.deepEqual(deliveries.map((d) => d.status), [202]);
    // The same delivery again (Bitbucket's retry) is a duplicate: stored once.
    const again = await bb.oauth.deliver("acme-oauth", "app", "repo:push", null, { requestUuid: "req-1", rawBody: (await models.Delivery.findOne({ where: { tenantId, deliveryId: "req-1" } }))!.body });
    assert.deepEqual(again.map((d) => d.status), [200]);
    assert.equal(await models.Delivery.count({ where: { tenantId, deliveryId: "req-1" } }), 1);

    const build = await buildReaches(server, created.json.id, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "SUCCESSFUL", log);
    assert.match(log, /hello over oauth/);
    assert.ok(bb.gitCalls.some((c) => c.auth === "basic" && c.clientKey === `oauth:${KEY}:${alice.uuid}` && c.status === 200), "cloned with the connection's token (x-token-auth)");
    const statuses = await eventually("a SUCCESSFUL status", async () => {
      const s = bb.statuses("acme-oauth", "app", commit.hash);
      return s.some((x) => x.state === "SUCCESSFUL") ? s : undefined;
    });
    assert.ok(statuses[0].key.length <= 40);
    assert.equal(statuses[0].url, `${server.url}/oauth/builds/${build.id}`);
    // The status links to the standalone build page, which the session can open.
    const page = await browser.fetch(statuses[0].url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /SUCCESSFUL/);

    // The builds API answers the session too (the same routes the Connect pages use).
    assert.equal((await api(server, browser, "GET", `/api/builds/${build.id}`, tenantId)).status, 200);
    assert.equal((await api(server, browser, "GET", `/api/builds/${build.id}/steps/0/log`, tenantId)).status, 200);

    // "Add to my Bitbucket account" with the session: the key goes on alice's account.
    const added = await api(server, browser, "POST", "/api/ssh-key/bitbucket", tenantId);
    assert.equal(added.status, 201, added.text);
    assert.deepEqual(bb.sshKeys().map((k) => k.owner), [alice.uuid]);

    // Turning auto-build off deletes the hook; on again creates a new one.
    const off = await api(server, browser, "PATCH", `/api/applications/${created.json.id}`, tenantId, { autoBuild: false });
    assert.equal(off.status, 200, off.text);
    assert.equal(bb.hooks("acme-oauth", "app").length, 0);
    const on = await api(server, browser, "PATCH", `/api/applications/${created.json.id}`, tenantId, { autoBuild: true });
    assert.equal(on.status, 200, on.text);
    assert.equal(bb.hooks("acme-oauth", "app").length, 1);

    const disconnected = await api(server, browser, "POST", "/api/oauth/disconnect", tenantId);
    assert.equal(disconnected.status, 200, disconnected.text);
    assert.deepEqual(disconnected.json.leftOnBitbucket, []);
    assert.equal(bb.hooks("acme-oauth", "app").length, 0);
    assert.equal(bb.sshKeys().length, 0);
    assert.equal(await models.AccessToken.count({ where: { tenantId } }), 0);
    assert.equal(await models.TenantSshKey.count({ where: { tenantId } }), 0);
    assert.equal((await models.Tenant.findByPk(tenantId))?.status, "inactive");
    const after = await api(server, browser, "GET", "/api/oauth/connections");
    assert.deepEqual(after.json.values, []);
    // A delivery to the deleted hook's URL is refused, nothing stored.
    const late = await fetch(hook.url, { method: "POST", headers: { "Content-Type": "application/json", "X-Event-Key": "repo:push", "X-Request-UUID": "late" }, body: "{}" });
    assert.equal(late.status, 401);
    // Neither the consumer secret nor any token reached the logs.
    assert.ok(!server.logs.some((l) => l.includes(SECRET)));
  });

  it("refuses a forged state, a callback without the session, and a state used twice", async () => {
    await bb.createRepository("forge-ws", "app");
    bb.oauth.addUser("mallory", ["forge-ws"]);
    bb.oauth.loginAs("mallory");
    const victim = new Browser();
    const start = await victim.fetch(`${server.url}/oauth/connect`);
    assert.equal(start.status, 302);
    const approve = await victim.fetch(start.headers.get("location")!);
    const callback = new URL(approve.headers.get("location")!);
    const code = callback.searchParams.get("code")!;

    const forged = new URL(callback);
    forged.searchParams.set("state", "forged-state-forged-state-forged-state");
    const r1 = await victim.fetch(forged.toString());
    assert.equal(r1.status, 403);
    assert.match(await r1.text(), /state/);
    // The real state was consumed by the failed attempt: single use.
    const r2 = await victim.fetch(callback.toString());
    assert.equal(r2.status, 403);
    // Another browser (no session) cannot complete someone else's authorization.
    const attacker = new Browser();
    const r3 = await attacker.fetch(callback.toString());
    assert.equal(r3.status, 403);
    // No tenant was made and the code was never exchanged.
    assert.equal(await server.storage.models.Tenant.count({ where: { principalName: "forge-ws" } }), 0);
    assert.ok(!bb.calls.some((c) => (c.body as Record<string, string> | undefined)?.code === code));
  });

  it("refreshes an access token close to expiry, and once after a 401; the call succeeds", async () => {
    const models = server.storage.models;
    await bb.createRepository("refresh-ws", "one");
    await bb.createRepository("refresh-ws", "two");
    bb.oauth.addUser("rita", ["refresh-ws"]);
    bb.oauth.loginAs("rita");
    const browser = new Browser();
    await connect(server, browser);
    const tenantId = (await api(server, browser, "GET", "/api/oauth/connections")).json.values[0].tenantId;
    const refreshes = () => bb.calls.filter((c) => (c.body as Record<string, string> | undefined)?.grant_type === "refresh_token").length;

    // Bitbucket expired the token early: the API answers 401, the app refreshes once and repeats the call.
    bb.expireTokens();
    const before = refreshes();
    const one = await api(server, browser, "POST", "/api/applications", tenantId, { repository: "refresh-ws/one" });
    assert.equal(one.status, 201, one.text);
    assert.equal(refreshes(), before + 1);
    assert.ok(bb.calls.some((c) => c.server === "api" && c.status === 401));

    // A stored token that expires within minutes is refreshed before it is used (no 401 first).
    await models.AccessToken.update({ expiresAt: new Date(Date.now() + 60_000) }, { where: { tenantId, purpose: "oauth-access" } });
    const calls = bb.calls.length;
    const two = await api(server, browser, "POST", "/api/applications", tenantId, { repository: "refresh-ws/two" });
    assert.equal(two.status, 201, two.text);
    assert.equal(refreshes(), before + 2);
    assert.ok(!bb.calls.slice(calls).some((c) => c.status === 401));
  });

  it("a refresh token revoked on Bitbucket's side: reconnect needed, shown, and no status is posted", async () => {
    const models = server.storage.models;
    await bb.createRepository("revoked-ws", "app");
    bb.oauth.addUser("rex", ["revoked-ws"]);
    bb.oauth.loginAs("rex");
    const browser = new Browser();
    await connect(server, browser);
    const tenantId = (await api(server, browser, "GET", "/api/oauth/connections")).json.values[0].tenantId;
    assert.equal((await api(server, browser, "POST", "/api/applications", tenantId, { repository: "revoked-ws/app" })).status, 201);

    bb.oauth.revokeGrant("rex");
    const refused = await api(server, browser, "GET", `/api/applications`, tenantId);
    assert.equal(refused.status, 200); // reading our own rows needs no Bitbucket call
    const tenant = (await models.Tenant.findByPk(tenantId))!;
    const forge = server.engine.ctx.forgeFor(tenant);
    const outcome = await forge.postStatus(tenant, "revoked-ws/app", "a".repeat(40), { key: "k", state: "INPROGRESS", name: "n", description: "d", url: "http://x", refname: null });
    assert.deepEqual(outcome, { status: 401 });
    const conns = await api(server, browser, "GET", "/api/oauth/connections");
    assert.equal(conns.json.values[0].state, "reconnect-needed");
    assert.match(conns.json.values[0].reason ?? "", /refused the refresh/);
    const home = await (await browser.fetch(`${server.url}/oauth`)).text();
    assert.match(home, /reconnect needed/);
    // From now on nothing is sent with the stale credentials.
    const calls = bb.calls.length;
    const second = await forge.postStatus(tenant, "revoked-ws/app", "a".repeat(40), { key: "k", state: "INPROGRESS", name: "n", description: "d", url: "http://x", refname: null }, { refreshCredentials: true });
    assert.deepEqual(second, { status: 401 });
    assert.equal(bb.calls.length, calls);
    assert.equal(bb.statusHistory("revoked-ws", "app").length, 0);

    // Connecting again restores the connection.
    await connect(server, browser);
    const back = await api(server, browser, "GET", "/api/oauth/connections");
    assert.equal(back.json.values[0].state, "connected");
  });

  it("a user of workspace A cannot see workspace B", async () => {
    await bb.createRepository("tenant-a", "app");
    await bb.createRepository("tenant-b", "app");
    bb.oauth.addUser("anna", ["tenant-a"]);
    bb.oauth.addUser("bert", ["tenant-b"]);
    const anna = new Browser();
    const bert = new Browser();
    bb.oauth.loginAs("anna");
    await connect(server, anna);
    bb.oauth.loginAs("bert");
    await connect(server, bert);
    const a = (await api(server, anna, "GET", "/api/oauth/connections")).json.values;
    const b = (await api(server, bert, "GET", "/api/oauth/connections")).json.values;
    assert.deepEqual(a.map((c) => c.workspace), ["tenant-a"]);
    assert.deepEqual(b.map((c) => c.workspace), ["tenant-b"]);
    const bApp = await api(server, bert, "POST", "/api/applications", b[0].tenantId, { repository: "tenant-b/app" });
    assert.equal(bApp.status, 201);

    // Anna naming B's tenant: 404 everywhere; naming her own: B's application is not there.
    for (const p of ["/api/applications", `/api/applications/${bApp.json.id}`]) {
      assert.equal((await api(server, anna, "GET", p, b[0].tenantId)).status, 404, p);
    }
    assert.equal((await api(server, anna, "GET", `/api/applications/${bApp.json.id}`, a[0].tenantId)).status, 404);
    assert.deepEqual((await api(server, anna, "GET", "/api/applications", a[0].tenantId)).json.values, []);
    assert.equal((await api(server, anna, "POST", "/api/oauth/disconnect", b[0].tenantId)).status, 404);
    // Anna cannot create an application in B's workspace through her own tenant: Bitbucket does not show it to her.
    assert.equal((await api(server, anna, "POST", "/api/applications", a[0].tenantId, { repository: "tenant-b/app" })).status, 404);
    // Without a session, the API is closed.
    assert.equal((await api(server, new Browser(), "GET", "/api/applications", a[0].tenantId)).status, 401);
  });

  it("the signed fixture verifies, through the intake as well", async () => {
    const raw = fs.readFileSync(path.join(FIXTURES, "bitbucket/cloud/signed/repo_push_signed.json"));
    const secret = "Gkvl$k$wyNpQAF42";
    const signature = "sha256=f205c729821c6954aff2afe72b965c34015b4baf96ea8ddc2cc44999c014a035";
    assert.deepEqual(verifyHubSignature(raw, signature, secret), { ok: true });
    assert.equal(verifyHubSignature(raw, signature, secret + "x").ok, false);

    const models = server.storage.models;
    const tenant = await models.Tenant.findOne({ where: { kind: "cloud-oauth", status: "active", principalName: "tenant-a" } });
    assert.ok(tenant);
    await models.CloudWebhook.create({ tenantId: tenant.id, repository: "nfalco79/test-repos", hookKey: "fixture-hook", secret });
    const post = (sig: string, id: string) =>
      fetch(`${server.url}/webhook/cloud/fixture-hook`, { method: "POST", headers: { "Content-Type": "application/json", "X-Event-Key": "repo:push", "X-Request-UUID": id, "X-Hub-Signature": sig }, body: raw });
    assert.equal((await post(signature, "fixture-1")).status, 202);
    assert.equal((await post(signature, "fixture-1")).status, 200);
    assert.equal((await post("sha256=" + "0".repeat(64), "fixture-2")).status, 401);
    assert.equal(await models.Delivery.count({ where: { tenantId: tenant.id, deliveryId: ["fixture-1", "fixture-2"] } }), 1);
  });
});
