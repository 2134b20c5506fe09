import assert from "node:assert/strict";
import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { mintToken } from "../support/connect-tokens";
import { checkTenant } from "../../src/cli/permissions";

/** Install, webhooks, uninstall and re-install driven by the Bitbucket Cloud stand-in, which reads our descriptor. */
describe("Connect app against the Bitbucket Cloud stand-in", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
    await bb.stop();
  });

  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
  };

  it("install → webhook stored → uninstall revokes → signed re-install restores", async () => {
    await bb.createRepository("acme", "widgets");
    const installed = await bb.install(server.url, { workspace: "acme" });
    assert.equal(installed.status, 204, JSON.stringify(installed.body));

    const { delivery } = await bb.pushAndNotify(server.url, installed.clientKey, "acme", "widgets", { files: { "README.md": "hi\n" }, message: "first" });
    assert.equal(delivery.status, 202, JSON.stringify(delivery.attempts));
    const row = await server.storage.models.Delivery.findOne({ where: { deliveryId: delivery.requestUuid } });
    assert.equal(row?.eventKey, "repo:push");

    const uninstalled = await bb.uninstall(server.url, installed.clientKey);
    assert.equal(uninstalled.status, 204);
    const refused = await bb.sendWebhook(server.url, installed.clientKey, "repo:push", { push: { changes: [] } }, { force: true, retries: 0 });
    assert.equal(refused.status, 401, "an uninstalled tenant's webhooks are refused");

    const unsigned = await bb.install(server.url, { workspace: "acme", signWith: "none" });
    assert.equal(unsigned.status, 401, "an unsigned install after uninstall is refused");
    const again = await bb.install(server.url, { workspace: "acme" });
    assert.equal(again.status, 204, "Bitbucket signs the re-install with the old secret");
    const t = await server.storage.models.Tenant.findOne({ where: { clientKey: installed.clientKey } });
    assert.equal(t?.status, "active");
  });

  it("a forged webhook is refused and nothing is stored", async () => {
    const inst = await bb.install(server.url, { workspace: "forgery" });
    const before = await server.storage.models.Delivery.count();
    const forged = await bb.sendWebhook(server.url, inst.clientKey, "repo:push", { push: { changes: [] } }, { jwt: "forged", retries: 0 });
    assert.equal(forged.status, 401);
    assert.equal(await server.storage.models.Delivery.count(), before);
  });

  describe("npm run permissions -- --tenant", () => {
    it("exit 0 when Bitbucket granted every required scope", async () => {
      const inst = await bb.install(server.url, { workspace: "granted" });
      const o = io();
      assert.equal(await checkTenant(inst.clientKey, o.io, server.env), 0, o.err.join("\n"));
      assert.match(o.out.join("\n"), /every scope Pipelines needs is granted/);
      const call = bb.calls.find((c) => c.server === "api" && c.clientKey === inst.clientKey);
      assert.equal(call?.auth, "jwt", "the app called the API once, signed as itself");
    });
    it("exit 1 naming each missing scope and the feature that breaks", async () => {
      const inst = await bb.install(server.url, { workspace: "stingy" });
      bb.grantScopes("stingy", ["account:write", "team", "repository:write", "pullrequest:write", "issue", "snippet", "wiki"]);
      const o = io();
      assert.equal(await checkTenant(inst.clientKey, o.io, server.env), 1);
      assert.ok(o.out.includes("MISSING webhook: To create and delete the push/pull-request webhooks"), o.out.join("\n"));
    });
  });

  describe("applications API (context tokens)", () => {
    let a: { clientKey: string; secret: string };
    let b: { clientKey: string; secret: string };
    before(async () => {
      await bb.createRepository("alpha", "app");
      await bb.createRepository("beta", "app");
      const ia = await bb.install(server.url, { workspace: "alpha" });
      const ib = await bb.install(server.url, { workspace: "beta" });
      a = { clientKey: ia.clientKey, secret: ia.sharedSecret };
      b = { clientKey: ib.clientKey, secret: ib.sharedSecret };
    });
    const ctx = (t: { clientKey: string; secret: string }) => `JWT ${mintToken({ ...t, context: true })}`;

    it("creates an application for a repository Bitbucket knows, with auto-build and auto-cancel on", async () => {
      const res = await request(server.url).post("/api/applications").set("Authorization", ctx(a)).send({ repository: "alpha/app" });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.repository, "alpha/app");
      assert.equal(res.body.autoBuild, true);
      assert.equal(res.body.autoCancel, true);
      assert.equal((await request(server.url).post("/api/applications").set("Authorization", ctx(a)).send({ repository: "alpha/app" })).status, 409);
      assert.equal((await request(server.url).post("/api/applications").set("Authorization", ctx(a)).send({ repository: "alpha/nope" })).status, 404);
      assert.equal((await request(server.url).post("/api/applications").set("Authorization", ctx(a)).send({ repository: "beta/app" })).status, 404, "another workspace's repository");
      assert.equal((await request(server.url).post("/api/applications").set("Authorization", ctx(a)).send({ repository: "../etc" })).status, 400);
    });
    it("a normal (non-context) token is not accepted on an action route", async () => {
      const jwt = mintToken({ ...a, method: "GET", path: "/api/applications" });
      assert.equal((await request(server.url).get("/api/applications").set("Authorization", `JWT ${jwt}`)).status, 401);
    });
    it("a token of workspace B never reads or changes workspace A's application", async () => {
      const list = await request(server.url).get("/api/applications").set("Authorization", ctx(a));
      const id = list.body.values[0].id;
      assert.equal((await request(server.url).get(`/api/applications/${id}`).set("Authorization", ctx(b))).status, 404);
      assert.equal((await request(server.url).patch(`/api/applications/${id}`).set("Authorization", ctx(b)).send({ autoBuild: false })).status, 404);
      assert.equal((await request(server.url).delete(`/api/applications/${id}`).set("Authorization", ctx(b))).status, 404);
      assert.equal((await request(server.url).put(`/api/applications/${id}/variables/X`).set("Authorization", ctx(b)).send({ value: "1" })).status, 404);
      assert.deepEqual((await request(server.url).get("/api/applications").set("Authorization", ctx(b))).body.values, []);
    });
    it("PATCH changes the switches and branch filter only", async () => {
      const id = (await request(server.url).get("/api/applications").set("Authorization", ctx(a))).body.values[0].id;
      const res = await request(server.url).patch(`/api/applications/${id}`).set("Authorization", ctx(a)).send({ autoBuild: false, branchFilter: "release/*" });
      assert.equal(res.status, 200);
      assert.equal(res.body.autoBuild, false);
      assert.equal(res.body.branchFilter, "release/*");
      assert.equal((await request(server.url).patch(`/api/applications/${id}`).set("Authorization", ctx(a)).send({ repository: "x/y" })).status, 400);
    });
    it("secured variables are write-only and encrypted at rest", async () => {
      const id = (await request(server.url).get("/api/applications").set("Authorization", ctx(a))).body.values[0].id;
      const value = "hunter2-very-secret-value";
      assert.equal((await request(server.url).put(`/api/applications/${id}/variables/DEPLOY_TOKEN`).set("Authorization", ctx(a)).send({ value, secured: true })).status, 204);
      assert.equal((await request(server.url).put(`/api/applications/${id}/variables/REGION`).set("Authorization", ctx(a)).send({ value: "eu" })).status, 204);
      const vars = await request(server.url).get(`/api/applications/${id}/variables`).set("Authorization", ctx(a));
      assert.deepEqual(vars.body.values, [
        { name: "DEPLOY_TOKEN", secured: true, value: null },
        { name: "REGION", secured: false, value: "eu" },
      ]);
      const [rows] = await server.storage.models.sequelize.query("SELECT value FROM application_variables");
      assert.ok(!JSON.stringify(rows).includes(value));
      assert.equal((await request(server.url).put(`/api/applications/${id}/variables/BITBUCKET_COMMIT`).set("Authorization", ctx(a)).send({ value: "x" })).status, 400);
    });
  });
});
