import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import request from "supertest";
import { startTestServer, type TestServer } from "../../support/test-server";
import { fixture, installPayload, postInstalled, type Installed } from "../../support/install";
import { mintToken } from "../../support/connect-tokens";

const SITE = "http://127.0.0.1:9";
type Delivery = { headers: Record<string, string>; payload: { event: string; data: unknown } };

describe("Connect webhook intake", () => {
  let server: TestServer;
  let a: Installed;
  before(async () => {
    server = await startTestServer();
    a = installPayload({ siteUrl: SITE });
    await postInstalled(server.url, a.payload);
  });
  after(async () => {
    await server.stop();
  });
  const auth = () => `JWT ${mintToken({ clientKey: a.clientKey, secret: a.secret, method: "POST", path: "/webhook" })}`;
  const post = (body: string, headers: Record<string, string>) => {
    const req = request(server.url).post("/webhook").set("Content-Type", "application/json").set("Authorization", auth());
    for (const [k, v] of Object.entries(headers)) req.set(k, v);
    return req.send(body);
  };

  it("the same delivery three times is stored once", async () => {
    const d = fixture<Delivery>("bitbucket/cloud/connect/webhook_repo_push_create_branch.json");
    const id = randomUUID();
    const statuses = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      statuses.push((await post(JSON.stringify(d.payload), { "X-Event-Key": "repo:push", "X-Request-UUID": id, "X-Attempt-Number": String(attempt) })).status);
    }
    assert.deepEqual(statuses, [202, 200, 200]);
    assert.equal(await server.storage.models.Delivery.count({ where: { deliveryId: id } }), 1);
  });
  it("stores the raw body as received", async () => {
    const raw = JSON.stringify(fixture<Delivery>("bitbucket/cloud/connect/webhook_pullrequest_created.json").payload, null, 3);
    const id = randomUUID();
    assert.equal((await post(raw, { "X-Event-Key": "pullrequest:created", "X-Request-UUID": id })).status, 202);
    const row = await server.storage.models.Delivery.findOne({ where: { deliveryId: id } });
    assert.equal(row!.body, raw);
    assert.equal(row!.status, "pending");
  });
  it("an event Pipelines does not act on is answered 2xx and recorded as ignored", async () => {
    const d = fixture<Delivery>("bitbucket/cloud/connect/webhook_repo_commit_status_created.json");
    const id = randomUUID();
    const res = await post(JSON.stringify(d.payload), { "X-Event-Key": d.payload.event, "X-Request-UUID": id });
    assert.equal(res.status, 202);
    assert.equal(res.body.status, "ignored");
    assert.equal((await server.storage.models.Delivery.findOne({ where: { deliveryId: id } }))!.status, "ignored");
  });
  it("malformed JSON → 400 with the parser's message, nothing stored", async () => {
    const id = randomUUID();
    const res = await post('{"event": "repo:push", "data": {', { "X-Event-Key": "repo:push", "X-Request-UUID": id });
    assert.equal(res.status, 400);
    assert.match(res.body.error, /malformed JSON/);
    assert.equal(await server.storage.models.Delivery.count({ where: { deliveryId: id } }), 0);
  });
  it("a body over 1 MB → 413", async () => {
    const big = JSON.stringify({ event: "repo:push", data: { pad: "x".repeat(1024 * 1024) } });
    const res = await post(big, { "X-Event-Key": "repo:push", "X-Request-UUID": randomUUID() });
    assert.equal(res.status, 413);
  });
  it("no delivery id → 400", async () => {
    const res = await post(JSON.stringify({ event: "repo:push", data: {} }), { "X-Event-Key": "repo:push" });
    assert.equal(res.status, 400);
    assert.match(res.body.error, /X-Request-UUID/);
  });
  it("a body that is not {event, data} → 400", async () => {
    const res = await post(JSON.stringify([1, 2]), { "X-Event-Key": "repo:push", "X-Request-UUID": randomUUID() });
    assert.equal(res.status, 400);
  });
});
