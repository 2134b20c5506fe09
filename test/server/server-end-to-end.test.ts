import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startBitbucketServer, type BitbucketServerStandin } from "../standin/server";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches, eventually, stepLog } from "../support/build-world";
import { addServerConnection, removeServerConnection } from "../../src/forges/server/server-connections";
import { disableServerAutoBuild, enableServerAutoBuild } from "../../src/forges/server/server-webhooks";
import { ServerCredentialsError } from "../../src/forges/server/check-credentials";
import { tenantSshKey } from "../../src/tenants/ssh-key-store";
import { hubSignature } from "../../src/intake/verify-hub-signature";
import { FIXTURES } from "../support/install";
import type { Tenant } from "../../src/db/models";

const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo "built $BITBUCKET_COMMIT"
          - cat hello.txt
`;
const REPO = "PROJ/app";

/**
 * Bitbucket Server end to end, against the stand-in (real HTTP, a real sshd on a non-22 port): add credentials →
 * enable auto-builds (webhook created) → push → build cloned over SSH → status posted → disable (webhook deleted);
 * a replaced host key fails the clone with a message that says so.
 */
describe("Bitbucket Server end to end (stand-in with sshd)", function () {
  this.timeout(90_000);
  let bbs: BitbucketServerStandin;
  let server: TestServer;
  let tenant: Tenant;

  before(async () => {
    bbs = await startBitbucketServer();
    bbs.users.set("alice", { password: "correct horse" });
    bbs.users.set("bob", { password: "pw", forbidden: true });
    bbs.users.set("carol", { token: "pat-123" });
    await bbs.createRepository(REPO);
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
    await bbs?.stop();
  });

  it("refuses bad credentials with a clear message, and an unreachable host", async () => {
    const models = server.storage.models;
    const add = (o: { host?: string; username: string; secret: string; authKind?: "token" }) => addServerConnection(models, { host: bbs.url, sshPort: bbs.sshd?.port, ...o });
    await assert.rejects(add({ username: "alice", secret: "wrong" }), (e: Error) => e instanceof ServerCredentialsError && e.reason === "unauthorized" && /401/.test(e.message));
    await assert.rejects(add({ username: "bob", secret: "pw" }), (e: Error) => e instanceof ServerCredentialsError && e.reason === "forbidden" && /permission/.test(e.message));
    await assert.rejects(add({ username: "carol", secret: "nope", authKind: "token" }), (e: Error) => e instanceof ServerCredentialsError && /access token/.test(e.message));
    await assert.rejects(add({ host: "http://127.0.0.1:1", username: "alice", secret: "x" }), (e: Error) => e instanceof ServerCredentialsError && e.reason === "unreachable" && /cannot be reached/.test(e.message));
    assert.equal(await models.ServerConnection.count(), 0);
    // A personal access token is sent as Bearer.
    const ok = await add({ username: "carol", secret: "pat-123", authKind: "token" });
    assert.equal(bbs.calls.at(-1)?.auth, "bearer");
    await removeServerConnection(models, ok.tenant);
  });

  it("add credentials → enable → push → SSH clone on the configured port → status → disable", async () => {
    const models = server.storage.models;
    const sshd = bbs.sshd;
    assert.ok(sshd && sshd.port !== 22);
    const added = await addServerConnection(models, { host: bbs.url, username: "alice", secret: "correct horse", sshPort: sshd.port, sshUser: sshd.user });
    tenant = added.tenant;
    assert.equal(tenant.kind, "server");
    assert.equal(added.version, "8.19.0");
    // The password is stored sealed.
    const [row] = (await models.sequelize.query("SELECT secret FROM server_connections WHERE tenant_id = " + tenant.id))[0] as { secret: string }[];
    assert.ok(!row.secret.includes("correct horse"));
    // The tenant's key pair (the one the configure page shows) is authorised on the server.
    sshd.authorize((await tenantSshKey(models, tenant)).publicKey);

    await enableServerAutoBuild(models, tenant, REPO, server.url);
    assert.equal(bbs.hooks.length, 1);
    const hook = bbs.hooks[0];
    assert.match(hook.url, new RegExp(`^${server.url}/webhook/server/[A-Za-z0-9_-]+$`));
    assert.deepEqual([...hook.events].sort(), ["pr:declined", "pr:deleted", "pr:from_ref_updated", "pr:merged", "pr:modified", "pr:opened", "repo:refs_changed"]);
    assert.match(hook.secret, /^[0-9a-f]{64}$/);

    const { commit, deliveries } = await bbs.pushAndNotify(REPO, { "bitbucket-pipelines.yml": PIPELINE, "hello.txt": "hello from server\n" });
    assert.deepEqual(deliveries.map((d) => d.status), [202]);
    const build = await buildReaches(server, (await models.Application.findOne({ where: { tenantId: tenant.id } }))!.id, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "SUCCESSFUL", log);
    assert.match(log, new RegExp(`fetching ${commit.hash} from ssh://${sshd.user}@127\\.0\\.0\\.1:${sshd.port}/proj/app\\.git`));
    assert.match(log, /hello from server/);
    assert.ok(!log.includes("PRIVATE KEY"));
    assert.ok(sshd.commands().some((c) => c === "git-upload-pack '/proj/app.git'"), sshd.commands().join("\n"));
    // The host key was pinned on first use, and its fingerprint is what the server has.
    const conn = await models.ServerConnection.findOne({ where: { tenantId: tenant.id } });
    assert.equal(conn?.knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey()}`);
    assert.match(conn?.hostKeyFingerprint ?? "", /^SHA256:/);
    // The pipeline file was read through the REST raw endpoint at the commit.
    assert.ok(bbs.calls.some((c) => c.path === "/rest/api/1.0/projects/PROJ/repos/app/raw/bitbucket-pipelines.yml" && c.query === `at=${commit.hash}` && c.auth === "basic"));

    const states = await eventually("a SUCCESSFUL status", async () => {
      const s = bbs.statusesOf(commit.hash);
      return s.at(-1)?.body.state === "SUCCESSFUL" ? s : undefined;
    });
    assert.ok(states.some((s) => s.body.state === "INPROGRESS"));
    const last = states.at(-1)!;
    assert.equal(last.api, "latest");
    assert.equal(last.repository, REPO);
    for (const [field, max] of [["key", 255], ["name", 255], ["description", 255], ["url", 450]] as const) {
      assert.ok(typeof last.body[field] === "string" && (last.body[field] as string).length <= max, field);
    }

    await disableServerAutoBuild(models, tenant, REPO);
    assert.equal(bbs.hooks.length, 0);
    assert.ok(bbs.calls.some((c) => c.method === "DELETE" && c.path === `/rest/api/1.0/projects/PROJ/repos/app/webhooks/${hook.id}` && c.status === 204));
    assert.equal((await models.Application.findOne({ where: { tenantId: tenant.id } }))?.autoBuild, false);
  });

  it("the intake refuses unsigned and wrongly signed deliveries (401, nothing stored), dedupes on X-Request-Id, answers ping", async () => {
    const models = server.storage.models;
    await enableServerAutoBuild(models, tenant, REPO, server.url);
    const raw = fs.readFileSync(path.join(FIXTURES, "bitbucket/server/repo_refs_changed_branch_update.json"), "utf8");
    const before = await models.Delivery.count();
    for (const signature of [null, "", "sha256=" + "0".repeat(64), "sha1=" + "0".repeat(40), hubSignature(raw, "another secret"), hubSignature(raw, bbs.hooks[0].secret).slice(7)]) {
      const [r] = await bbs.deliver(REPO, "repo:refs_changed", raw, { signature });
      assert.equal(r.status, 401, `signature ${String(signature)}: ${r.text}`);
    }
    const unknown = await fetch(`${server.url}/webhook/server/nope`, { method: "POST", headers: { "Content-Type": "application/json", "X-Event-Key": "repo:refs_changed", "X-Request-Id": "x", "X-Hub-Signature": hubSignature(raw, "x") }, body: raw });
    assert.equal(unknown.status, 401);
    assert.equal(await models.Delivery.count(), before);

    const [ping] = await bbs.deliver(REPO, "diagnostics:ping", fs.readFileSync(path.join(FIXTURES, "bitbucket/server/diagnostics_ping.json"), "utf8"));
    assert.equal(ping.status, 200);
    assert.equal(await models.Delivery.count(), before);

    const [first] = await bbs.deliver(REPO, "repo:refs_changed", raw, { deliveryId: "dup-1" });
    const [second] = await bbs.deliver(REPO, "repo:refs_changed", raw, { deliveryId: "dup-1" });
    assert.deepEqual([first.status, second.status], [202, 200]);
    assert.equal(await models.Delivery.count({ where: { tenantId: tenant.id, deliveryId: "dup-1" } }), 1);
    await disableServerAutoBuild(models, tenant, REPO);
  });

  it("a replaced SSH host key fails the clone with a message that says so", async () => {
    const models = server.storage.models;
    await enableServerAutoBuild(models, tenant, REPO, server.url);
    const pinned = (await models.ServerConnection.findOne({ where: { tenantId: tenant.id } }))?.hostKeyFingerprint;
    await bbs.sshd?.rotateHostKey();
    const { commit } = await bbs.pushAndNotify(REPO, { "hello.txt": "again\n" });
    const appId = (await models.Application.findOne({ where: { tenantId: tenant.id } }))!.id;
    const build = await buildReaches(server, appId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(build.state, "FAILED");
    const log = await stepLog(server, build.id, 0);
    assert.match(log, /SSH host key of 127\.0\.0\.1:\d+ has changed/);
    assert.ok(pinned && log.includes(pinned), log);
    assert.ok(!bbs.sshd?.commands().some((c) => c.includes("again")));
  });

  it("removing the connection deletes its webhooks and the stored credentials", async () => {
    const models = server.storage.models;
    assert.equal(bbs.hooks.length, 1);
    const r = await removeServerConnection(models, tenant);
    assert.deepEqual(r.webhookErrors, []);
    assert.equal(bbs.hooks.length, 0);
    assert.equal(await models.ServerConnection.count({ where: { tenantId: tenant.id } }), 0);
    await tenant.reload();
    assert.equal(tenant.status, "inactive");
  });
});
