import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { qshOf } from "../../src/forges/cloud-connect/jwt/qsh";
import { startBitbucketCloud, type BitbucketCloud } from "./cloud";
import { APP_KEY, startFakeConnectApp, type FakeConnectApp } from "./support/fake-connect-app";

const FIXTURES = "/work/shared/fixtures/bitbucket/cloud";

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name), "utf8")) as Record<string, unknown>;
}

function keysOf(o: unknown): string[] {
  return Object.keys(o as Record<string, unknown>).sort();
}

const HASH = "0123456789abcdef0123456789abcdef01234567";
const HASH2 = "89abcdef0123456789abcdef0123456789abcdef";

describe("Bitbucket Cloud stand-in: Connect lifecycle and webhooks", () => {
  let cloud: BitbucketCloud;
  let app: FakeConnectApp;

  before(async () => {
    cloud = await startBitbucketCloud({ webhookRetryDelayMs: 5 });
    app = await startFakeConnectApp();
    await cloud.createRepository("acme", "demo");
  });
  after(async () => {
    await app.stop();
    await cloud.stop();
  });

  it("installs unsigned the first time, with the payload shape of lifecycle_installed_team.json", async () => {
    const res = await cloud.install(app.baseUrl, { workspace: "acme" });
    assert.equal(res.status, 204);
    const got = app.received.at(-1)!;
    assert.equal(got.path, "/app/installed");
    assert.equal(got.headers.authorization, undefined, "a first install is not signed");
    assert.match(String(got.headers["user-agent"]), /^python-requests\//);

    const expected = (fixture("connect/lifecycle_installed_team.json").payload as Record<string, unknown>);
    assert.deepEqual(keysOf(got.body), keysOf(expected));
    assert.deepEqual(keysOf(got.body.principal), keysOf(expected.principal));
    assert.equal(got.body.productType, "bitbucket");
    assert.equal(got.body.eventType, "installed");
    assert.equal(got.body.key, APP_KEY);
    assert.equal(got.body.baseUrl, cloud.siteUrl);
    assert.equal(got.body.baseApiUrl, cloud.apiUrl);
    const wsUuid = cloud.workspaceUuid("acme");
    assert.match(wsUuid, /^\{[0-9a-f-]{36}\}$/);
    assert.equal(got.body.clientKey, `ari:cloud:bitbucket::app/${wsUuid}/${APP_KEY}`);
    assert.equal(res.clientKey, got.body.clientKey);
    const principal = got.body.principal as Record<string, unknown>;
    assert.deepEqual([principal.uuid, principal.username, principal.type], [wsUuid, "acme", "team"]);
    assert.equal(res.sharedSecret, got.body.sharedSecret);
    assert.equal(cloud.currentSecret(res.clientKey), res.sharedSecret);
  });

  it("re-installs signed with the previous secret (iss = aud = clientKey, qsh of POST /installed) and rotates it", async () => {
    const first = cloud.currentSecret(`ari:cloud:bitbucket::app/${cloud.workspaceUuid("acme")}/${APP_KEY}`)!;
    const res = await cloud.install(app.baseUrl, { workspace: "acme" });
    assert.equal(res.status, 204, JSON.stringify(app.received.at(-1)?.refused));
    assert.notEqual(res.sharedSecret, first);
    const claims = app.received.at(-1)!.claims!;
    assert.equal(claims.iss, res.clientKey);
    assert.equal(claims.aud, res.clientKey);
    assert.equal(claims.exp! - claims.iat!, 3600);
    assert.equal(claims.qsh, qshOf("POST", "/installed", ""));
    assert.equal(app.tenants.get(res.clientKey)!.sharedSecret, res.sharedSecret);
    assert.equal(cloud.currentSecret(res.clientKey), res.sharedSecret);
  });

  it("lets tests sign a re-install wrongly; the secret only rotates when the app accepts", async () => {
    const clientKey = `ari:cloud:bitbucket::app/${cloud.workspaceUuid("acme")}/${APP_KEY}`;
    const before = cloud.currentSecret(clientKey);
    assert.equal((await cloud.install(app.baseUrl, { workspace: "acme", signWith: "none" })).status, 401);
    assert.equal((await cloud.install(app.baseUrl, { workspace: "acme", signWith: "payload" })).status, 400);
    assert.equal((await cloud.install(app.baseUrl, { workspace: "acme", signWith: "previous" })).status, 400);
    assert.equal(cloud.currentSecret(clientKey), before);
  });

  it("omits fields on request, and a fresh workspace gets its own clientKey", async () => {
    const res = await cloud.install(app.baseUrl, { workspace: "globex", omit: ["sharedSecret", "baseApiUrl"] });
    assert.equal(res.status, 400);
    assert.ok(!("sharedSecret" in app.received.at(-1)!.body));
    assert.equal(cloud.currentSecret(res.clientKey), undefined);
    const ok = await cloud.install(app.baseUrl, { workspace: "globex", sharedSecret: "s3cret-for-test" });
    assert.equal(ok.status, 204);
    assert.notEqual(ok.clientKey, `ari:cloud:bitbucket::app/${cloud.workspaceUuid("acme")}/${APP_KEY}`);
    assert.equal(app.tenants.get(ok.clientKey)!.sharedSecret, "s3cret-for-test");
  });

  it("delivers a webhook with Bitbucket's headers and a JWT whose qsh covers the webhook URL", async () => {
    const clientKey = `ari:cloud:bitbucket::app/${cloud.workspaceUuid("acme")}/${APP_KEY}`;
    const data = cloud.pushPayload("acme/demo", [{ name: "main", old: HASH, new: HASH2 }]);
    const d1 = await cloud.sendWebhook(app.baseUrl, clientKey, "repo:push", data);
    assert.equal(d1.status, 204);
    assert.equal(d1.attempts.length, 1);
    const got = app.received.at(-1)!;
    assert.equal(got.refused, null);
    assert.equal(got.path, "/app/webhooks/bitbucket");
    assert.equal(got.headers["x-event-key"], "repo:push");
    assert.equal(got.headers["x-request-uuid"], d1.requestUuid);
    assert.equal(got.headers["x-attempt-number"], "1");
    assert.equal(got.headers["user-agent"], "Bitbucket-Webhooks/2.0");
    assert.match(String(got.headers["content-type"]), /^application\/json/);
    assert.ok(!Number.isNaN(Date.parse(String(got.headers["x-event-time"]))));
    assert.deepEqual(got.body, { event: "repo:push", data });
    assert.equal(got.claims!.qsh, qshOf("POST", "/webhooks/bitbucket", ""));
    assert.equal(got.claims!.iss, clientKey);

    const d2 = await cloud.sendWebhook(app.baseUrl, clientKey, "repo:push", data);
    assert.notEqual(d2.requestUuid, d1.requestUuid, "a new delivery id per delivery");
    assert.equal(d2.hookUuid, d1.hookUuid, "the same hook uuid per clientKey and event");
    assert.equal(app.received.at(-1)!.headers["x-hook-uuid"], d1.hookUuid);

    // The qsh includes the query of the descriptor's URL.
    const pr = cloud.pullRequestPayload("acme/demo", { id: 1, title: "t", source: { branch: "f", commit: HASH2 }, destination: { branch: "main", commit: HASH } }, "pullrequest:fulfilled");
    const d3 = await cloud.sendWebhook(app.baseUrl, clientKey, "pullrequest:fulfilled", pr);
    assert.equal(d3.status, 204, String(app.received.at(-1)!.refused));
    assert.equal(app.received.at(-1)!.claims!.qsh, qshOf("POST", "/webhooks/bitbucket", "?kind=pr"));
  });

  it("retries on 5xx and on a dropped connection with the same X-Request-UUID, and not on 4xx", async () => {
    const clientKey = `ari:cloud:bitbucket::app/${cloud.workspaceUuid("acme")}/${APP_KEY}`;
    const data = cloud.pushPayload("acme/demo", [{ name: "main", new: HASH }]);
    app.webhookAnswers.push(503, "drop", 202);
    const from = app.received.length;
    const d = await cloud.sendWebhook(app.baseUrl, clientKey, "repo:push", data);
    assert.deepEqual(d.attempts.map((a) => a.status), [503, 0, 202]);
    assert.ok(d.attempts[1].error);
    const seen = app.received.slice(from);
    assert.deepEqual(seen.map((r) => r.headers["x-attempt-number"]), ["1", "2", "3"]);
    assert.deepEqual(new Set(seen.map((r) => r.headers["x-request-uuid"])), new Set([d.requestUuid]));

    app.webhookAnswers.push(500, 500, 500);
    const failed = await cloud.sendWebhook(app.baseUrl, clientKey, "repo:push", data, { requestUuid: "11111111-2222-3333-4444-555555555555" });
    assert.deepEqual(failed.attempts.map((a) => a.status), [500, 500, 500], "two retries, then Bitbucket gives up");
    assert.equal(app.received.at(-1)!.headers["x-request-uuid"], "11111111-2222-3333-4444-555555555555");

    app.webhookAnswers.push(400);
    const bad = await cloud.sendWebhook(app.baseUrl, clientKey, "repo:push", data);
    assert.deepEqual(bad.attempts.map((a) => a.status), [400]);
  });

  it("gives up on an attempt after its timeout and retries it", async () => {
    const clientKey = `ari:cloud:bitbucket::app/${cloud.workspaceUuid("acme")}/${APP_KEY}`;
    app.webhookAnswers.push("hang", 202);
    const d = await cloud.sendWebhook(app.baseUrl, clientKey, "repo:push", cloud.pushPayload("acme/demo", [{ name: "main", new: HASH }]), { timeoutMs: 150 });
    assert.deepEqual(d.attempts.map((a) => a.status), [0, 202]);
    assert.match(d.attempts[0].error ?? "", /150 ms/);
  });

  it("sabotages the JWT or the body on request", async () => {
    const clientKey = `ari:cloud:bitbucket::app/${cloud.workspaceUuid("acme")}/${APP_KEY}`;
    const data = cloud.pushPayload("acme/demo", [{ name: "main", new: HASH }]);
    const cases: [Parameters<BitbucketCloud["sendWebhook"]>[4], string][] = [
      [{ jwt: "none" }, "no JWT"],
      [{ jwt: "forged" }, "bad signature"],
      [{ jwt: { exp: Math.floor(Date.now() / 1000) - 10 } }, "expired"],
      [{ jwt: { qsh: qshOf("POST", "/somewhere/else", "") } }, "qsh mismatch"],
      [{ jwt: "not.a.token" }, "unparseable JWT"],
    ];
    for (const [opts, why] of cases) {
      const d = await cloud.sendWebhook(app.baseUrl, clientKey, "repo:push", data, opts);
      assert.ok(d.status >= 400 && d.status < 500, `${why}: ${d.status}`);
      assert.equal(app.received.at(-1)!.refused, why);
    }
    const raw = await cloud.sendWebhook(app.baseUrl, clientKey, "repo:push", data, { rawBody: '{"event":"repo:push","data":{}}' });
    assert.equal(raw.status, 204);
    assert.deepEqual(app.received.at(-1)!.body, { event: "repo:push", data: {} });
  });

  it("builds repo:push and pullrequest data shaped like the real payloads", () => {
    const real = (fixture("connect/webhook_repo_push_create_branch.json").payload as { data: Record<string, unknown> }).data;
    const realChange = (real.push as { changes: Record<string, unknown>[] }).changes[0];
    const data = cloud.pushPayload({ workspace: "acme", slug: "demo" }, [
      { name: "main", old: { hash: HASH, message: "one\n" }, new: { hash: HASH2, message: "two\n", parents: [HASH] } },
      { type: "tag", name: "v1", new: HASH2 },
    ]);
    assert.deepEqual(keysOf(data), keysOf(real));
    const repo = data.repository as Record<string, unknown>;
    assert.deepEqual(keysOf(repo), keysOf(real.repository));
    assert.equal(repo.full_name, "acme/demo");
    assert.equal((repo.workspace as Record<string, unknown>).uuid, cloud.workspaceUuid("acme"));
    const [branch, tag] = (data.push as { changes: Record<string, unknown>[] }).changes;
    assert.deepEqual(keysOf(branch), keysOf(realChange));
    assert.deepEqual(keysOf(branch.new), keysOf(realChange.new));
    const target = (branch.new as { target: Record<string, unknown> }).target;
    assert.deepEqual(keysOf(target), keysOf((realChange.new as { target: unknown }).target));
    assert.deepEqual([target.hash, target.type, target.message], [HASH2, "commit", "two\n"]);
    assert.deepEqual([branch.created, branch.closed, branch.forced], [false, false, false]);
    assert.equal((branch.old as { target: { hash: string } }).target.hash, HASH);
    assert.equal((branch.commits as unknown[]).length, 1);
    assert.deepEqual([(tag.new as Record<string, unknown>).type, tag.created, tag.old], ["tag", true, null]);

    const realPr = (fixture("connect/webhook_pullrequest_created.json").payload as { data: Record<string, unknown> }).data;
    const pr = cloud.pullRequestPayload("acme/demo", { id: 7, title: "Feature", source: { branch: "feature", commit: HASH2 }, destination: { branch: "main", commit: HASH } });
    assert.deepEqual(keysOf(pr), keysOf(realPr));
    const p = pr.pullrequest as Record<string, Record<string, Record<string, unknown>>>;
    assert.deepEqual(keysOf(p), keysOf(realPr.pullrequest));
    assert.equal(p.source.commit.hash, HASH2.slice(0, 12));
    assert.equal(p.destination.commit.hash, HASH.slice(0, 12));
    assert.equal(p.source.branch.name, "feature");
    assert.equal(p.state as unknown, "OPEN");
    const merged = cloud.pullRequestPayload("acme/demo", { id: 7, title: "Feature", source: { branch: "feature", commit: HASH2 }, destination: { branch: "main", commit: HASH }, mergeCommit: HASH }, "pullrequest:fulfilled");
    const m = merged.pullrequest as Record<string, unknown>;
    assert.equal(m.state, "MERGED");
    assert.equal((m.merge_commit as { hash: string }).hash, HASH.slice(0, 12));
    assert.equal((cloud.pullRequestPayload("acme/demo", { id: 8, title: "x", source: { branch: "a", commit: HASH }, destination: { branch: "main", commit: HASH } }, "pullrequest:rejected").pullrequest as Record<string, unknown>).state, "DECLINED");
  });

  it("uninstalls with the uninstalled_team shape, signed with the current secret, and revokes the tokens", async () => {
    const install = await cloud.install(app.baseUrl, { workspace: "initech" });
    const token = cloud.issueAccessToken(install.clientKey);
    const res = await cloud.uninstall(app.baseUrl, install.clientKey);
    assert.equal(res.status, 204, String(app.received.at(-1)!.refused));
    const got = app.received.at(-1)!;
    const expected = fixture("connect/lifecycle_uninstalled_team.json").payload;
    assert.deepEqual(keysOf(got.body), keysOf(expected));
    assert.equal(got.body.eventType, "uninstalled");
    assert.equal(got.claims!.qsh, qshOf("POST", "/uninstalled", ""));
    const api = await fetch(`${cloud.apiUrl}/2.0/user`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(api.status, 401);
    await assert.rejects(cloud.sendWebhook(app.baseUrl, install.clientKey, "repo:push", {}), /uninstalled/);

    // Re-install after uninstall: signed with the last secret, as Bitbucket does.
    const again = await cloud.install(app.baseUrl, { workspace: "initech" });
    assert.equal(again.status, 204);
    assert.equal(app.received.at(-1)!.claims!.iss, install.clientKey);
  });
});
