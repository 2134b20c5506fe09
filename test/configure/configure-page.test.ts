import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { installWorld, type World } from "../support/build-world";
import { mintToken } from "../support/connect-tokens";
import { revealSecret } from "../../src/db/encrypted-fields";
import { publicKeyBlobOf, sshFingerprint } from "../../src/tenants/ssh-key-format";
import { tenantSshKey } from "../../src/tenants/ssh-key-store";
import { checkGrantedScopes } from "../../src/scopes/check-granted-scopes";
import { PIPELINES_SCOPES } from "../../src/scopes/catalogue";

/** The configure page and its actions, against the Bitbucket Cloud stand-in. */
describe("configure page", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  let a: World;
  let b: World;
  const userA = `{${randomUUID()}}`;
  const userB = `{${randomUUID()}}`;

  before(async () => {
    bb = await startBitbucketCloud();
    server = await startTestServer();
    [a, b] = await Promise.all([installWorld(bb, server, "cfga"), installWorld(bb, server, "cfgb")]);
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  const secretOf = (w: World) => bb.currentSecret(w.clientKey) ?? w.secret;
  /** The page as Bitbucket opens it: `?userUuid=…&jwt=…`, the token signed for that URL, naming the user. */
  const page = (w: World, user = userA) => {
    const query = `userUuid=${encodeURIComponent(user)}`;
    const jwt = mintToken({ clientKey: w.clientKey, secret: secretOf(w), method: "GET", path: "/pages/configure", query, claims: { sub: user } });
    return request(server.url).get(`/pages/configure?${query}&jwt=${jwt}`);
  };
  /** A context token (AP.context.getToken()) of `w`, for `user`. */
  const ctx = (w: World, user?: string) => `JWT ${mintToken({ clientKey: w.clientKey, secret: secretOf(w), context: true, claims: user ? { sub: user } : {} })}`;
  const addKey = (w: World, user?: string) => request(server.url).post("/api/ssh-key/bitbucket").set("Authorization", ctx(w, user));
  const tenantOf = async (w: World) => {
    const t = await server.storage.models.Tenant.findOne({ where: { clientKey: w.clientKey } });
    assert.ok(t);
    return t;
  };
  const keyRow = async (w: World) => server.storage.models.TenantSshKey.findOne({ where: { tenantId: (await tenantOf(w)).id } });
  const shownKey = (html: string) => /<textarea[^>]*id="ssh-public-key"[^>]*>([^<]*)<\/textarea>/.exec(html)?.[1] ?? "";
  const shownFingerprint = (html: string) => /id="ssh-fingerprint">([^<]*)</.exec(html)?.[1] ?? "";
  const scopeState = (html: string, scope: string) => new RegExp(`data-scope="${scope}" data-state="([a-z]+)"`).exec(html)?.[1];

  describe("the workspace's SSH key", () => {
    it("shows the public key and its fingerprint, never the private key; the same on reload, another per workspace", async () => {
      const first = await page(a);
      assert.equal(first.status, 200, first.text);
      const key = shownKey(first.text);
      assert.match(key, new RegExp(`^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} pipelines@${a.workspace}$`));
      assert.equal(shownFingerprint(first.text), sshFingerprint(publicKeyBlobOf(key)));
      assert.match(shownFingerprint(first.text), /^SHA256:[A-Za-z0-9+/]{43}$/);

      const row = await keyRow(a);
      assert.ok(row);
      const privateKey = revealSecret(row, "privateKey");
      assert.ok(privateKey);
      assert.match(privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
      const privateLines = privateKey.split("\n").filter((l) => l && !l.startsWith("-----"));
      assert.doesNotMatch(first.text, /PRIVATE KEY/);
      for (const line of privateLines) assert.ok(!first.text.includes(line), "no line of the private key is in the page");

      const again = await page(a);
      assert.equal(shownKey(again.text), key, "the same key on reload");
      const other = await page(b);
      assert.equal(other.status, 200);
      assert.notEqual(shownKey(other.text), key, "another workspace has its own key");
      assert.ok(!other.text.includes(key.split(" ")[1]), "and never sees workspace A's");
      assert.equal(await server.storage.models.TenantSshKey.count({ where: { tenantId: row.tenantId } }), 1);
      for (const line of privateLines) assert.ok(!server.logs.some((l) => l.includes(line)), "no log line holds the private key");
    });

    it("the private key is not in the sqlite file in clear", async function () {
      if (!server.sqliteFile) this.skip();
      const row = await keyRow(a);
      assert.ok(row);
      const privateKey = revealSecret(row, "privateKey")!;
      assert.ok(row.privateKey.startsWith("v1."), "the column holds a sealed value");
      const dir = path.dirname(server.sqliteFile!);
      const files = fs.readdirSync(dir).filter((f) => f.startsWith("pipelines.sqlite"));
      assert.ok(files.length >= 1);
      const needles = privateKey.split("\n").filter((l) => l.length >= 40 && !l.startsWith("-----"));
      for (const f of files) {
        const bytes = fs.readFileSync(path.join(dir, f));
        for (const n of needles) assert.equal(bytes.indexOf(n), -1, `${f} holds the private key in clear`);
        assert.equal(bytes.indexOf("OPENSSH PRIVATE KEY"), -1, `${f} holds a PEM in clear`);
      }
    });

    it("concurrent first requests make one key pair (unique per tenant)", async () => {
      const c = await installWorld(bb, server, "cfgc");
      const pages = await Promise.all([page(c), page(c), page(c), page(c)]);
      const keys = new Set(pages.map((p) => shownKey(p.text)));
      assert.equal(keys.size, 1, "every page shows the same key");
      const tenant = await tenantOf(c);
      assert.equal(await server.storage.models.TenantSshKey.count({ where: { tenantId: tenant.id } }), 1);
      // Another process losing the race hits the unique index, and reads the winner's key.
      await assert.rejects(
        server.storage.models.TenantSshKey.create({ tenantId: tenant.id, publicKey: "ssh-ed25519 x", fingerprint: "SHA256:x", privateKey: "x" }),
        (err: Error) => err.name === "SequelizeUniqueConstraintError",
      );
      assert.equal((await tenantSshKey(server.storage.models, tenant)).publicKey, [...keys][0]);
    });
  });

  describe("Add to my Bitbucket account (POST /api/ssh-key/bitbucket)", () => {
    it("adds the key to the user's account, then says it is already there; the uuid Bitbucket gave it is remembered", async () => {
      const row = await keyRow(a);
      assert.ok(row);
      const res = await addKey(a, userA);
      assert.equal(res.status, 201, res.text);
      assert.match(res.body.message, /Added/);
      const onBitbucket = bb.sshKeys().filter((k) => row.publicKey.startsWith(k.key));
      assert.equal(onBitbucket.length, 1);
      assert.equal(onBitbucket[0].owner, userA);
      assert.equal(onBitbucket[0].label, "Pipelines for Bitbucket");
      assert.equal(onBitbucket[0].clientKey, a.clientKey, "added through the tenant's own API credentials");
      await row.reload();
      assert.equal(row.bitbucketAccount, userA);
      assert.equal(row.bitbucketKeyUuid, onBitbucket[0].uuid);
      assert.ok(row.addedToBitbucketAt);
      const call = bb.calls.filter((c) => c.method === "POST" && c.path.endsWith("/ssh-keys")).at(-1);
      assert.ok(call && !JSON.stringify(call.body).includes("PRIVATE"), "only the public key is sent");

      const second = await addKey(a, userA);
      assert.equal(second.status, 200, second.text);
      assert.equal(second.body.result, "already-added");
      assert.match(second.body.message, /already on your Bitbucket account/);
      assert.equal(bb.sshKeys().filter((k) => row.publicKey.startsWith(k.key)).length, 1);

      const shown = await page(a, userA);
      assert.match(shown.text, /Added to your Bitbucket account on \d{4}-\d{2}-\d{2}\./);
      assert.match((await page(a, userB)).text, /Added to a Bitbucket account on/);
    });

    it("another user of the workspace is told the key is on another account", async () => {
      const res = await addKey(a, `{${randomUUID()}}`);
      assert.equal(res.status, 409, res.text);
      assert.match(res.body.error, /another account/);
    });

    it("without account:write, says which scope is missing", async () => {
      const d = await installWorld(bb, server, "cfgd");
      bb.grantScopes(d.workspace, PIPELINES_SCOPES.filter((s) => s !== "account:write"));
      const res = await addKey(d, userA);
      assert.equal(res.status, 403, res.text);
      assert.match(res.body.error, /account:write/);
      assert.match(res.body.error, /Read and write to your account information/);
      const row = await keyRow(d);
      assert.ok(row && !row.bitbucketKeyUuid);
      assert.equal(bb.sshKeys().filter((k) => row.publicKey.startsWith(k.key)).length, 0);
      const shown = await page(d);
      assert.equal(scopeState(shown.text, "account:write"), "missing");
    });

    it("any other answer of Bitbucket is shown in its own words; a token without a user is refused", async () => {
      const failure = bb.failNext({ server: "api", method: "POST", pathMatch: /\/ssh-keys$/, mode: { status: 500 } });
      const res = await addKey(b, userB);
      assert.equal(failure.remaining, 0);
      assert.equal(res.status, 502, res.text);
      assert.match(res.body.error, /HTTP 500.*Something went wrong/);
      const anonymous = await addKey(b);
      assert.equal(anonymous.status, 400);
      assert.match(anonymous.body.error, /user/);
    });

    it("only a context token is accepted, and only for its own workspace's key", async () => {
      const normal = mintToken({ clientKey: b.clientKey, secret: secretOf(b), method: "POST", path: "/api/ssh-key/bitbucket", claims: { sub: userB } });
      assert.equal((await request(server.url).post("/api/ssh-key/bitbucket").set("Authorization", `JWT ${normal}`)).status, 401);
      assert.equal((await request(server.url).post("/api/ssh-key/bitbucket")).status, 401);

      const rowA = await keyRow(a);
      assert.ok(rowA);
      const before = { account: rowA.bitbucketAccount, uuid: rowA.bitbucketKeyUuid };
      const res = await addKey(b, userB);
      assert.equal(res.status, 201, res.text);
      const rowB = await keyRow(b);
      assert.ok(rowB);
      const added = bb.sshKeys().find((k) => k.owner === userB);
      assert.ok(added && rowB.publicKey.startsWith(added.key), "B's token added B's key");
      assert.ok(!rowA.publicKey.startsWith(added.key));
      await rowA.reload();
      assert.deepEqual({ account: rowA.bitbucketAccount, uuid: rowA.bitbucketKeyUuid }, before, "A's record is untouched");
    });
  });

  describe("permissions table", () => {
    it("shows each required scope as granted when Bitbucket granted everything", async () => {
      const res = await page(b);
      for (const scope of PIPELINES_SCOPES) assert.equal(scopeState(res.text, scope), "granted", scope);
      assert.match(res.text, /Bitbucket granted every scope Pipelines needs/);
    });

    it("names a missing scope and the feature that breaks", async () => {
      const e = await installWorld(bb, server, "cfge");
      bb.grantScopes(e.workspace, PIPELINES_SCOPES.filter((s) => s !== "webhook"));
      const res = await page(e);
      assert.equal(scopeState(res.text, "webhook"), "missing");
      assert.equal(scopeState(res.text, "repository:write"), "granted");
      assert.match(res.text, /1 scope is missing/);
      assert.match(res.text, /To create and delete the push\/pull-request webhooks/);
    });

    it("Bitbucket down: the page still renders, saying it could not check", async () => {
      bb.failNext({ server: "api", method: "GET", pathMatch: /^\/2\.0\/repositories\//, mode: { status: 500 } });
      const res = await page(b);
      assert.equal(res.status, 200, res.text);
      assert.match(res.text, /Could not check what Bitbucket granted/);
      assert.equal(scopeState(res.text, "webhook"), "unknown");
      assert.match(shownKey(res.text), /^ssh-ed25519 /, "the rest of the page is there");
    });

    it("a Bitbucket that does not answer is given up on after the timeout", async () => {
      bb.failNext({ server: "api", method: "GET", pathMatch: /^\/2\.0\/repositories\//, mode: "hang" });
      const started = Date.now();
      const check = await checkGrantedScopes(await tenantOf(b), { timeoutMs: 200 });
      assert.equal(check.outcome, "unreachable");
      assert.ok(Date.now() - started < 2000);
    });
  });

  describe("application variables", () => {
    it("lists each application's variables, secured values as •••• only; another workspace sees none of them", async () => {
      const secret = `s3cret-${randomUUID()}`;
      const put = (name: string, body: object) => request(server.url).put(`/api/applications/${a.applicationId}/variables/${name}`).set("Authorization", a.auth()).send(body);
      assert.equal((await put("DEPLOY_TOKEN", { value: secret, secured: true })).status, 204);
      assert.equal((await put("REGION", { value: "eu-west-1" })).status, 204);
      const res = await page(a);
      assert.match(res.text, new RegExp(`data-application-id="${a.applicationId}"`));
      assert.match(res.text, /<tr data-name="DEPLOY_TOKEN" data-secured="true">.*••••/);
      assert.match(res.text, /<tr data-name="REGION" data-secured="false">.*eu-west-1/);
      assert.ok(!res.text.includes(secret), "a secured value is never rendered");

      const other = await page(b);
      assert.doesNotMatch(other.text, new RegExp(`data-application-id="${a.applicationId}"`));
      assert.ok(!other.text.includes("DEPLOY_TOKEN") && !other.text.includes("eu-west-1"));
    });
  });

  describe("the page itself", () => {
    it("framable only by the tenant's Bitbucket, no inline script, a context token cannot open it", async () => {
      const res = await page(a);
      assert.match(res.headers["content-security-policy"], new RegExp(`frame-ancestors ${new URL(bb.siteUrl).origin}`));
      assert.equal(res.headers["cache-control"], "no-store");
      const scripts = res.text.match(/<script\b[^>]*>/g) ?? [];
      assert.ok(scripts.length >= 1);
      for (const s of scripts) assert.match(s, /\bsrc="/, `inline script: ${s}`);
      assert.match(res.text, /\/static\/configure\.js"/);
      assert.equal((await request(server.url).get("/static/configure.js")).status, 200);
      assert.equal((await request(server.url).get("/static/configure.css")).status, 200);
      const jwt = mintToken({ clientKey: a.clientKey, secret: secretOf(a), context: true });
      assert.equal((await request(server.url).get(`/pages/configure?jwt=${jwt}`)).status, 401);
    });

    it("the Bitbucket Server form is disabled and says where connections are added today", async () => {
      const res = await page(a);
      assert.match(res.text, /npm run pipelines -- server add/);
      assert.match(res.text, /Adding\s+them from this page comes with a later release/);
      assert.match(res.text, /<fieldset disabled>/);
      for (const field of ["host", "username", "password"]) assert.match(res.text, new RegExp(`name="${field}"`));
      assert.match(res.text, /name="sshPort" type="number" min="1" max="65535" value="22"/);
      assert.match(res.text, /Add Credentials<\/button>/);
    });

    it("explains what uninstalling removes, SSH key included", async () => {
      const res = await page(a);
      assert.match(res.text, /deletes every access token/);
      assert.match(res.text, /stops queued and running builds/);
      assert.match(res.text, /deletes the workspace's SSH key pair/);
      assert.match(res.text, /shared secret only to verify a re-install/);
    });
  });

  it("uninstall deletes the key pair; a re-install gets a new one", async () => {
    const f = await installWorld(bb, server, "cfgf");
    const old = shownKey((await page(f)).text);
    const tenant = await tenantOf(f);
    assert.equal(await server.storage.models.TenantSshKey.count({ where: { tenantId: tenant.id } }), 1);
    assert.equal((await bb.uninstall(server.url, f.clientKey)).status, 204);
    assert.equal(await server.storage.models.TenantSshKey.count({ where: { tenantId: tenant.id } }), 0);
    assert.equal((await bb.install(server.url, { workspace: f.workspace })).status, 204);
    const fresh = shownKey((await page(f)).text);
    assert.match(fresh, /^ssh-ed25519 /);
    assert.notEqual(fresh, old);
  });
});
