import assert from "node:assert/strict";
import { startBitbucketServer, type BitbucketServerStandin } from "../standin/server";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches } from "../support/build-world";
import { Browser } from "../oauth/browser";
import { addServerConnection } from "../../src/forges/server/server-connections";
import { enableServerAutoBuild } from "../../src/forges/server/server-webhooks";
import type { Tenant } from "../../src/db/models";
import { buildInState } from "./deploy-support";

const PIPELINE = "pipelines:\n  default:\n    - step:\n        name: Build\n        script: [echo built]\n    - step:\n        name: Ship\n        deployment: production\n        trigger: manual\n        script: [echo shipped]\n";

/**
 * Bitbucket Server: whether a person administers a repository is what the Server listed to their own credentials at
 * sign-in (REPO_ADMIN); only such a person may promote to an admins-only environment from the standalone pages.
 */
describe("deployments with a Bitbucket Server sign-in (stand-in)", function () {
  this.timeout(90_000);
  let bbs: BitbucketServerStandin;
  let server: TestServer;
  let tenant: Tenant;
  const admin = new Browser();
  const reader = new Browser();
  const login = (browser: Browser, username: string, secret: string) =>
    browser.fetch(`${server.url}/server/login`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ connection: String(tenant.id), username, secret }).toString() });

  before(async () => {
    bbs = await startBitbucketServer({ ssh: false });
    bbs.users.set("svc", { password: "svc-Pa55word-9911" });
    bbs.users.set("ada", { password: "ada-Pa55word-4471", reads: ["PROJ/web"], admins: ["PROJ/web"] });
    bbs.users.set("rex", { password: "rex-Pa55word-2288", reads: ["PROJ/web"] });
    await bbs.createRepository("PROJ/web");
    server = await startTestServer();
    tenant = (await addServerConnection(server.storage.models, { host: bbs.url, username: "svc", secret: "svc-Pa55word-9911", sshPort: 7999, cloneProtocol: "http" })).tenant;
    await enableServerAutoBuild(server.storage.models, tenant, "PROJ/web", server.url);
  });
  after(async () => {
    await server?.stop();
    await bbs?.stop();
  });

  it("a reader cannot promote to an admins-only Production; the repository's admin (REPO_ADMIN at sign-in) can", async () => {
    const models = server.storage.models;
    const app = await models.Application.findOne({ where: { tenantId: tenant.id, repository: "PROJ/web" } });
    assert.ok(app);
    await models.Environment.update({ adminsOnly: true }, { where: { applicationId: app.id, nameKey: "production" } });
    const { commit } = await bbs.pushAndNotify("PROJ/web", { "bitbucket-pipelines.yml": PIPELINE });
    const paused = await buildReaches(server, app.id, commit.hash, ["PAUSED", "FAILED"], 60_000);
    assert.equal(paused.state, "PAUSED");

    assert.equal((await login(admin, "ada", "ada-Pa55word-4471")).status, 303);
    assert.equal((await login(reader, "rex", "rex-Pa55word-2288")).status, 303);
    assert.ok(bbs.calls.some((c) => c.path === "/rest/api/1.0/repos" && /permission=REPO_ADMIN/.test(c.query) && c.auth === "basic"));
    const promote = (browser: Browser) =>
      browser.fetch(`${server.url}/api/applications/${app.id}/environments/production/promote`, {
        method: "POST",
        headers: { "X-Pipelines-Tenant": String(tenant.id), Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify({ buildId: paused.id }),
      });
    const refused = await promote(reader);
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /start deployments \(Promote, Redeploy\) of the repositories it administers/);
    const ok = await promote(admin);
    assert.equal(ok.status, 200, await ok.text());
    const done = await buildInState(server, paused.id, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(done.state, "SUCCESSFUL");
    const deployment = await models.Deployment.findOne({ where: { buildId: paused.id, stepIndex: 1 } });
    assert.equal(deployment?.state, "SUCCESSFUL");
    assert.equal(deployment?.startedBy, "ada");
    // Reading the Deployments page is for anyone who can read the repository.
    const page = await reader.fetch(`${server.url}/server/${tenant.id}/PROJ/web/deployments`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /data-testid="current-deployment"[^>]*data-build-id="\d+" data-state="SUCCESSFUL"/);
  });
});
