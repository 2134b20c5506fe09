import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import request from "supertest";
import { startTestServer, type TestServer } from "../../support/test-server";
import { fixture, installPayload, postInstalled, postUninstalled, type Installed } from "../../support/install";
import { mintToken, tokenWithHeader } from "../../support/connect-tokens";
import { signHs256 } from "../../../src/forges/cloud-connect/jwt/token";

const SITE = "http://127.0.0.1:9";
const pushDelivery = fixture<{ payload: { event: string; data: unknown } }>("bitbucket/cloud/connect/webhook_repo_push_create_branch.json").payload;

describe("JWT on every Bitbucket → app request", () => {
  let server: TestServer;
  let a: Installed;
  let b: Installed;
  before(async () => {
    server = await startTestServer();
    a = installPayload({ siteUrl: SITE });
    b = installPayload({ siteUrl: SITE });
    assert.equal((await postInstalled(server.url, a.payload)).status, 204);
    assert.equal((await postInstalled(server.url, b.payload)).status, 204);
  });
  after(async () => {
    await server.stop();
  });

  const deliveries = () => server.storage.models.Delivery.count();
  const webhook = (authorization: string | undefined, opts: { path?: string; body?: unknown } = {}) => {
    const req = request(server.url)
      .post(opts.path ?? "/webhook")
      .set("Content-Type", "application/json")
      .set("X-Event-Key", "repo:push")
      .set("X-Request-UUID", randomUUID());
    if (authorization) req.set("Authorization", authorization);
    return req.send(JSON.stringify(opts.body ?? pushDelivery));
  };
  const good = (claims = {}) => `JWT ${mintToken({ clientKey: a.clientKey, secret: a.secret, method: "POST", path: "/webhook", claims })}`;
  const now = () => Math.floor(Date.now() / 1000);

  async function refused(authorization: string | undefined, message: RegExp) {
    const before = await deliveries();
    const res = await webhook(authorization);
    assert.equal(res.status, 401, res.text);
    assert.equal(res.type, "application/json");
    assert.match(res.body.error, message);
    assert.equal(await deliveries(), before, "nothing stored");
  }

  it("a valid token is accepted and the delivery stored (202)", async () => {
    const before = await deliveries();
    const res = await webhook(good());
    assert.equal(res.status, 202, res.text);
    assert.equal(await deliveries(), before + 1);
  });
  it("no token → 401", () => refused(undefined, /needs a Connect JWT/));
  it("alg none → 401", () => refused(`JWT ${tokenWithHeader({ alg: "none", typ: "JWT" }, { iss: a.clientKey, qsh: "x" }, "")}`, /algorithm "none"/));
  it("an RS256 header → 401", () =>
    refused(`JWT ${tokenWithHeader({ alg: "RS256", typ: "JWT" }, { iss: a.clientKey, iat: now(), exp: now() + 60 })}`, /algorithm "RS256"/));
  it("a wrong signature → 401 (ACE answers 400)", () => {
    const [h, c] = good().slice(4).split(".");
    return refused(`JWT ${h}.${c}.${Buffer.from("not the signature at all, 32 bytes").toString("base64url")}`, /signature/);
  });
  it("signed with another tenant's secret → 401", () =>
    refused(`JWT ${mintToken({ clientKey: a.clientKey, secret: b.secret, method: "POST", path: "/webhook" })}`, /signature/));
  it("expired → 401", () => refused(good({ iat: now() - 7200, exp: now() - 120 }), /expired/));
  it("expired by less than the leeway is still accepted", async () => {
    assert.equal((await webhook(good({ iat: now() - 3600, exp: now() - 5 }))).status, 202);
  });
  it("iat in the future → 401", () => refused(good({ iat: now() + 600, exp: now() + 4200 }), /future/));
  it("no exp → 401", () => refused(`JWT ${signHs256({ iss: a.clientKey, iat: now(), qsh: "x" }, a.secret)}`, /exp/));
  it("qsh of another path → 401", () => refused(`JWT ${mintToken({ clientKey: a.clientKey, secret: a.secret, method: "POST", path: "/installed" })}`, /qsh/));
  it("qsh of another query → 401", () =>
    refused(`JWT ${mintToken({ clientKey: a.clientKey, secret: a.secret, method: "POST", path: "/webhook", query: "x=1" })}`, /qsh/));
  it("qsh of another method → 401", () => refused(`JWT ${mintToken({ clientKey: a.clientKey, secret: a.secret, method: "GET", path: "/webhook" })}`, /qsh/));
  it("a context token on a webhook route → 401", () =>
    refused(`JWT ${mintToken({ clientKey: a.clientKey, secret: a.secret, context: true })}`, /context token is not accepted/));
  it("an unknown issuer → 401", () => refused(`JWT ${mintToken({ clientKey: "ari:cloud:bitbucket::app/{nobody}/x", secret: a.secret, method: "POST", path: "/webhook" })}`, /not an installed tenant/));
  it("a malformed token → 401", () => refused("JWT not.a.jwt!", /malformed/));
  it("an uninstalled tenant → 401", async () => {
    const c = installPayload({ siteUrl: SITE });
    await postInstalled(server.url, c.payload);
    await postUninstalled(server.url, c.payload, c);
    await refused(`JWT ${mintToken({ clientKey: c.clientKey, secret: c.secret, method: "POST", path: "/webhook" })}`, /uninstalled/);
  });
  it("a token in both the header and the query → 401", async () => {
    const res = await request(server.url)
      .post(`/webhook?jwt=${good().slice(4)}`)
      .set("Authorization", good())
      .set("Content-Type", "application/json")
      .set("X-Request-UUID", randomUUID())
      .send(JSON.stringify(pushDelivery));
    assert.equal(res.status, 401);
  });

  describe("iframe pages (?jwt=)", () => {
    const query = "repoPath=acme%2Fwidgets&repoUuid=%7B1%7D";
    it("a page signed for its URL renders the repository it was opened for, framable only by the tenant's Bitbucket", async () => {
      const jwt = mintToken({ clientKey: a.clientKey, secret: a.secret, method: "GET", path: "/pages/panel", query });
      const res = await request(server.url).get(`/pages/panel?${query}&jwt=${jwt}`);
      assert.equal(res.status, 200);
      assert.match(res.text, /acme\/widgets/);
      assert.equal(res.headers["content-security-policy"].split(";")[0], `frame-ancestors ${new URL(SITE).origin}`);
      assert.ok(!res.text.includes(a.secret));
    });
    it("a context token does not open a page", async () => {
      const jwt = mintToken({ clientKey: a.clientKey, secret: a.secret, context: true });
      assert.equal((await request(server.url).get(`/pages/panel?${query}&jwt=${jwt}`)).status, 401);
    });
    it("a page token whose qsh is for another repository is refused", async () => {
      const jwt = mintToken({ clientKey: a.clientKey, secret: a.secret, method: "GET", path: "/pages/panel", query: "repoPath=acme%2Fother&repoUuid=%7B1%7D" });
      assert.equal((await request(server.url).get(`/pages/panel?${query}&jwt=${jwt}`)).status, 401);
    });
    for (const page of ["/pages/builds", "/pages/configure"]) {
      it(`${page} answers with a real page for the tenant`, async () => {
        const jwt = mintToken({ clientKey: a.clientKey, secret: a.secret, method: "GET", path: page, query });
        const res = await request(server.url).get(`${page}?${query}&jwt=${jwt}`);
        assert.equal(res.status, 200, res.text);
        assert.match(res.text, page.endsWith("builds") ? /Builds of acme\/widgets/ : /repository:write/);
      });
    }
  });
});
