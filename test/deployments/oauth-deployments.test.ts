import assert from "node:assert/strict";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches } from "../support/build-world";
import { Browser } from "../oauth/browser";
import { buildInState } from "./deploy-support";

const KEY = "deploy-consumer";
const SECRET = "deploy-consumer-secret-3c1e";
const PIPELINE = "pipelines:\n  default:\n    - step:\n        name: Build\n        script: [echo built]\n    - step:\n        name: Ship\n        deployment: production\n        trigger: manual\n        script: [echo shipped]\n";

/**
 * Bitbucket Cloud through the OAuth consumer: whether a signed-in person administers the repository is asked of
 * Bitbucket with that person's own token (kept sealed on their session), not with the connection's.
 */
describe("deployments with an OAuth sign-in (stand-in)", function () {
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

  const signIn = async (nickname: string) => {
    bb.oauth.loginAs(nickname);
    const browser = new Browser();
    const hops = await browser.follow(`${server.url}/oauth/connect`);
    assert.equal(hops.at(-1)?.status, 200);
    return browser;
  };
  const call = (browser: Browser, tenantId: number, method: string, path: string, body?: unknown) =>
    browser.fetch(`${server.url}${path}`, {
      method,
      headers: { "X-Pipelines-Tenant": String(tenantId), Accept: "application/json", ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it("the workspace's owner may promote to an admins-only Production; a member Bitbucket says only writes may not", async () => {
    await bb.createRepository("deploy-oauth", "app");
    bb.oauth.addUser("olga", { "deploy-oauth": "owner" });
    const member = bb.oauth.addUser("mike", { "deploy-oauth": "member" });
    const owner = await signIn("olga");
    const tenant = await server.storage.models.Tenant.findOne({ where: { kind: "cloud-oauth", principalName: "deploy-oauth" } });
    assert.ok(tenant);
    const session = await server.storage.models.OAuthSession.findOne({ where: { userName: "olga" } });
    assert.match(String(session?.getDataValue("userAccessToken")), /^v1\./, "the person's own token is kept sealed");
    const created = await call(owner, tenant.id, "POST", "/api/applications", { repository: "deploy-oauth/app" });
    const createdText = await created.text();
    assert.equal(created.status, 201, createdText);
    const app = JSON.parse(createdText) as { id: number };
    const patched = await call(owner, tenant.id, "PATCH", `/api/applications/${app.id}/environments/production`, { adminsOnly: true });
    assert.equal(patched.status, 200, await patched.text());
    const { commit } = await bb.oauth.pushAndDeliver("deploy-oauth", "app", { files: { "bitbucket-pipelines.yml": PIPELINE } });
    const paused = await buildReaches(server, app.id, commit.hash, ["PAUSED", "FAILED"], 60_000);
    assert.equal(paused.state, "PAUSED");

    const other = await signIn("mike");
    const refused = await call(other, tenant.id, "POST", `/api/applications/${app.id}/environments/production/promote`, { buildId: paused.id });
    assert.equal(refused.status, 403);
    assert.match(((await refused.json()) as { error: string }).error, /Bitbucket says you are not an admin of deploy-oauth\/app/);
    // Asked with mike's own token: the caller of /2.0/user/permissions/repositories is mike.
    const asked = bb.calls.filter((c) => c.path === "/2.0/user/permissions/repositories" && c.auth === "bearer");
    assert.ok(asked.length >= 1);
    assert.ok(asked.some((c) => String(c.clientKey).endsWith(member.uuid)), JSON.stringify(asked.map((c) => c.clientKey)));

    const ok = await call(owner, tenant.id, "POST", `/api/applications/${app.id}/environments/production/promote`, { buildId: paused.id });
    assert.equal(ok.status, 200, await ok.text());
    const done = await buildInState(server, paused.id, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(done.state, "SUCCESSFUL");
  });
});
