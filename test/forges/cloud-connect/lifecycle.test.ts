import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startTestServer, type TestServer } from "../../support/test-server";
import { installPayload, postInstalled, postUninstalled } from "../../support/install";
import { mintToken } from "../../support/connect-tokens";
import request from "supertest";

const SITE = "http://127.0.0.1:9";

describe("Connect lifecycle", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  const tenant = (clientKey: string) => server.storage.models.Tenant.findOne({ where: { clientKey } });
  /** A page request signed with `secret`: 200 only while the tenant is installed with that secret. */
  const pageStatus = async (clientKey: string, secret: string) => {
    const query = "repoPath=acme%2Fwidgets&repoUuid=%7B1%7D";
    const jwt = mintToken({ clientKey, secret, method: "GET", path: "/pages/panel", query });
    return (await request(server.url).get(`/pages/panel?${query}&jwt=${jwt}`)).status;
  };

  it("a first install of an unknown clientKey is accepted unsigned and stores the tenant with its secret encrypted", async () => {
    const inst = installPayload({ siteUrl: SITE });
    const res = await postInstalled(server.url, inst.payload);
    assert.equal(res.status, 204, res.text);
    const t = await tenant(inst.clientKey);
    assert.ok(t);
    assert.equal(t.status, "active");
    assert.notEqual(t.sharedSecret, inst.secret);
    assert.ok(!String(t.sharedSecret).includes(inst.secret));
    assert.ok(!String(t.installPayload).includes(inst.secret), "the stored payload has no secret");
    assert.equal(await pageStatus(inst.clientKey, inst.secret), 200);
  });

  it("a signed re-install rotates the secret", async () => {
    const first = installPayload({ siteUrl: SITE });
    await postInstalled(server.url, first.payload);
    const second = installPayload({ siteUrl: SITE, clientKey: first.clientKey });
    const res = await postInstalled(server.url, second.payload, { clientKey: first.clientKey, secret: first.secret });
    assert.equal(res.status, 204, res.text);
    assert.equal(await pageStatus(first.clientKey, second.secret), 200, "the new secret works");
    assert.equal(await pageStatus(first.clientKey, first.secret), 401, "the old secret no longer works");
  });

  it("an unsigned re-install is refused with 401 and the stored tenant is untouched", async () => {
    const first = installPayload({ siteUrl: SITE });
    await postInstalled(server.url, first.payload);
    const before = (await tenant(first.clientKey))!.toJSON();
    const attack = installPayload({ siteUrl: SITE, clientKey: first.clientKey });
    const res = await postInstalled(server.url, attack.payload);
    assert.equal(res.status, 401);
    assert.match(res.body.error, /re-install must be signed/);
    assert.deepEqual((await tenant(first.clientKey))!.toJSON(), before);
    assert.equal(await pageStatus(first.clientKey, first.secret), 200);
  });

  it("a re-install signed with the new secret (the one in its own payload) is refused", async () => {
    const first = installPayload({ siteUrl: SITE });
    await postInstalled(server.url, first.payload);
    const attack = installPayload({ siteUrl: SITE, clientKey: first.clientKey });
    const res = await postInstalled(server.url, attack.payload, { clientKey: first.clientKey, secret: attack.secret });
    assert.equal(res.status, 401, "ACE answers 400 here; a forged signature is a 401");
    assert.equal(await pageStatus(first.clientKey, first.secret), 200);
    assert.equal(await pageStatus(first.clientKey, attack.secret), 401);
  });

  it("uninstall revokes: the tenant is inactive, its tokens are deleted, its JWTs are refused", async () => {
    const inst = installPayload({ siteUrl: SITE });
    await postInstalled(server.url, inst.payload);
    const t = (await tenant(inst.clientKey))!;
    await server.storage.models.AccessToken.create({ tenantId: t.id, purpose: "jwt-grant", token: "tok-" + randomBytes(8).toString("hex"), expiresAt: new Date(Date.now() + 3600e3) });
    const res = await postUninstalled(server.url, { ...inst.payload, eventType: "uninstalled" }, inst);
    assert.equal(res.status, 204, res.text);
    const after = (await tenant(inst.clientKey))!;
    assert.equal(after.status, "inactive");
    assert.ok(after.uninstalledAt);
    assert.equal(await server.storage.models.AccessToken.count({ where: { tenantId: t.id } }), 0);
    assert.equal(await pageStatus(inst.clientKey, inst.secret), 401);
    // Bitbucket may repeat it: still 204, nothing more happens.
    assert.equal((await postUninstalled(server.url, { ...inst.payload, eventType: "uninstalled" }, inst)).status, 204);
  });

  it("an unsigned or wrongly signed uninstall is refused and revokes nothing", async () => {
    const inst = installPayload({ siteUrl: SITE });
    await postInstalled(server.url, inst.payload);
    assert.equal((await postUninstalled(server.url, inst.payload)).status, 401);
    assert.equal((await postUninstalled(server.url, inst.payload, { clientKey: inst.clientKey, secret: "not-the-secret" })).status, 401);
    assert.equal((await tenant(inst.clientKey))!.status, "active");
  });

  it("an unsigned install after an uninstall is refused (the old secret is kept to verify re-installs)", async () => {
    const inst = installPayload({ siteUrl: SITE });
    await postInstalled(server.url, inst.payload);
    await postUninstalled(server.url, inst.payload, inst);
    const again = installPayload({ siteUrl: SITE, clientKey: inst.clientKey });
    assert.equal((await postInstalled(server.url, again.payload)).status, 401);
    assert.equal((await tenant(inst.clientKey))!.status, "inactive");
  });

  it("a re-install after an uninstall signed with the old secret restores the tenant", async () => {
    const inst = installPayload({ siteUrl: SITE });
    await postInstalled(server.url, inst.payload);
    const id = (await tenant(inst.clientKey))!.id;
    await postUninstalled(server.url, inst.payload, inst);
    const again = installPayload({ siteUrl: SITE, clientKey: inst.clientKey });
    const res = await postInstalled(server.url, again.payload, inst);
    assert.equal(res.status, 204, res.text);
    const t = (await tenant(inst.clientKey))!;
    assert.equal(t.status, "active");
    assert.equal(t.id, id, "the same tenant, with its applications and history");
    assert.equal(t.uninstalledAt, null);
    assert.equal(await pageStatus(inst.clientKey, again.secret), 200);
  });

  describe("install payload validation", () => {
    const cases: [string, (p: Record<string, unknown>) => void, number, RegExp][] = [
      ["no sharedSecret", (p) => delete p.sharedSecret, 400, /sharedSecret/],
      ["productType jira", (p) => (p.productType = "jira"), 400, /productType/],
      ["no clientKey", (p) => delete p.clientKey, 400, /clientKey/],
      ["no baseUrl", (p) => delete p.baseUrl, 400, /baseUrl/],
      ["no baseApiUrl", (p) => delete p.baseApiUrl, 400, /baseApiUrl/],
      ["no principal", (p) => delete p.principal, 400, /principal/],
      ["another app's key", (p) => (p.key = "someone-else"), 400, /someone-else/],
      ["baseUrl on a host that is not Bitbucket", (p) => (p.baseUrl = "https://evil.example.com"), 401, /evil\.example\.com/],
    ];
    for (const [name, mutate, status, message] of cases) {
      it(`${name} → ${status} naming the problem, nothing stored`, async () => {
        const inst = installPayload({ siteUrl: SITE });
        mutate(inst.payload);
        const res = await postInstalled(server.url, inst.payload);
        assert.equal(res.status, status, res.text);
        assert.match(res.body.error, message);
        assert.equal(await tenant(inst.clientKey), null);
      });
    }
    it("malformed JSON → 400 with a message", async () => {
      const res = await request(server.url).post("/installed").set("Content-Type", "application/json").send("{not json");
      assert.equal(res.status, 400);
      assert.match(res.body.error, /malformed JSON/);
    });
  });
});
