import assert from "node:assert/strict";
import { createPublicKey, randomUUID } from "node:crypto";
import { SignJWT, UnsecuredJWT, generateKeyPair } from "jose";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startForgeStandin, type ForgeInstall, type ForgeStandin } from "../standin/forge";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches } from "../support/build-world";
import { installationActive } from "../../src/forges/cloud-forge-app/forge-installations";

const APP_ID = `ari:cloud:ecosystem::app/${randomUUID()}`;
const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - cat hello.txt
`;

function pushEvent(inst: ForgeInstall, repo: { uuid: string; slug: string }, push: Record<string, unknown>): Record<string, unknown> {
  return {
    actor: { type: "user", accountId: "557058:dev", uuid: `{${randomUUID()}}` },
    repository: { uuid: repo.uuid, slug: repo.slug },
    project: { uuid: `{${randomUUID()}}` },
    workspace: { uuid: inst.workspaceUuid },
    push,
    eventType: "avi:bitbucket:push:repository",
    timestamp: new Date().toISOString(),
  };
}

describe("Bitbucket Cloud through the Forge app (Forge stand-in)", function () {
  this.timeout(120_000);
  let bb: BitbucketCloud;
  let forge: ForgeStandin;
  let server: TestServer;

  before(async () => {
    bb = await startBitbucketCloud();
    forge = await startForgeStandin({ cloud: bb, appId: APP_ID, remoteBaseUrl: () => server.url });
    server = await startTestServer({ PIPELINES_FORGE_APP_ID: APP_ID, PIPELINES_FORGE_JWKS_URL: forge.jwksUrl, PIPELINES_BITBUCKET_URL: bb.siteUrl });
  });
  after(async () => {
    await server?.stop();
    await forge?.stop();
    await bb?.stop();
  });

  it("refuses with 401 every call whose invocation token is not Forge's, and stores nothing", async () => {
    const models = server.storage.models;
    const inst: ForgeInstall = { installationId: `ari:cloud:ecosystem::installation/${randomUUID()}`, workspace: "nobody", workspaceUuid: `{${randomUUID()}}`, clientKey: "x" };
    const good = await forge.fit(inst);
    const [, payloadPart] = good.split(".");
    const { privateKey: otherKey } = await generateKeyPair("RS256");
    const header = JSON.parse(Buffer.from(good.split(".")[0], "base64url").toString()) as { kid: string };
    const claims = JSON.parse(Buffer.from(payloadPart, "base64url").toString()) as Record<string, unknown>;
    const sign = (alg: string, key: Parameters<SignJWT["sign"]>[0], kid?: string, extra: Record<string, unknown> = {}) =>
      new SignJWT({ ...claims, ...extra }).setProtectedHeader({ alg, ...(kid ? { kid } : {}) }).sign(key);
    const jwks = (await (await fetch(forge.jwksUrl)).json()) as { keys: { n: string; e: string; kty: string }[] };
    const pem = createPublicKey({ key: jwks.keys[0], format: "jwk" }).export({ type: "spki", format: "pem" });
    const cases: [string, string | null][] = [
      ["no token", null],
      ["wrong signature", `${good.split(".")[0]}.${good.split(".")[1]}.${Buffer.from("not the signature").toString("base64url")}`],
      ["a key not in the JWKS", await sign("RS256", otherKey, randomUUID())],
      ["a key of another signer under Forge's kid", await sign("RS256", otherKey, header.kid)],
      ["HS256 signed with the public key", await sign("HS256", new TextEncoder().encode(String(pem)), header.kid)],
      ["alg none", new UnsecuredJWT(claims).encode()],
      ["wrong aud", await forge.fit(inst, { overrides: { aud: "ari:cloud:ecosystem::app/someone-else" } })],
      ["wrong iss", await forge.fit(inst, { overrides: { iss: "forge/someone" } })],
      ["expired", await forge.fit(inst, { expiresInSeconds: -120 })],
    ];
    for (const [name, token] of cases) {
      for (const p of ["/forge/events", "/forge/tick", "/forge/ui/pages/panel"]) {
        const res = await fetch(server.url + p, {
          method: p.includes("/ui/") ? "GET" : "POST",
          headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), "Content-Type": "application/json", "x-forge-oauth-system": "token-that-must-not-be-kept" },
          body: p.includes("/ui/") ? undefined : JSON.stringify({ eventType: "avi:bitbucket:push:repository" }),
        });
        assert.equal(res.status, 401, `${name} on ${p}`);
        const body = (await res.json()) as { error?: string };
        assert.equal(typeof body.error, "string", `${name}: a JSON error`);
      }
    }
    assert.equal(await models.Tenant.count(), 0);
    assert.equal(await models.Delivery.count(), 0);
    assert.equal(await models.AccessToken.count(), 0);
  });

  it("install → application → push event → build → status with the system token → merge check; retries stored once; another workspace refused", async () => {
    const models = server.storage.models;
    await bb.createRepository("acme-forge", "app");
    const repo = { uuid: repoUuid(bb, "acme-forge", "app"), slug: "app" };
    const inst = await forge.install("acme-forge");
    const tenant = await models.Tenant.findOne({ where: { clientKey: `forge:${inst.installationId}` } });
    assert.ok(tenant, "the installation became a tenant");
    assert.equal(tenant.kind, "forge");
    const [tokenRow] = (await models.sequelize.query(`SELECT token FROM access_tokens WHERE tenant_id = ${tenant.id} AND purpose = 'forge-system'`))[0] as { token: string }[];
    assert.match(tokenRow.token, /^v1\./, "the system token is sealed at rest");

    // The panel's "Create application", through invokeRemote as the page does it.
    const ctx = { repositoryUuid: repo.uuid };
    const created = await forge.invokeRemote(inst, { path: "/forge/ui/api/applications", method: "POST", body: { repository: "acme-forge/app" } }, ctx);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const appId = (created.body as { id: number }).id;
    const panel = await forge.invokeRemote(inst, { path: "/forge/ui/pages/panel", method: "GET" }, ctx);
    assert.equal(panel.status, 200, JSON.stringify(panel.body));
    assert.match((panel.body as { html: string }).html, /data-testid="auto-build-switch"/);

    // Another workspace's repository, or another repository than the page's: refused.
    const otherWs = await forge.invokeRemote(inst, { path: "/forge/ui/pages/panel", method: "GET" }, { ...ctx, workspaceUuid: bb.workspaceUuid("someone-else") });
    assert.equal(otherWs.status, 403);
    const otherRepo = await forge.invokeRemote(inst, { path: `/forge/ui/pages/panel?repoUuid=${encodeURIComponent(`{${randomUUID()}}`)}`, method: "GET" }, ctx);
    assert.equal(otherRepo.status, 403);
    const otherApp = await forge.invokeRemote(inst, { path: "/forge/ui/api/applications", method: "POST", body: { repository: "acme-forge/other" } }, ctx);
    assert.equal(otherApp.status, 403);

    // A push, delivered by Forge as one event per ref.
    const commit = await bb.commit("acme-forge", "app", { branch: "main", files: { "bitbucket-pipelines.yml": PIPELINE, "hello.txt": "hello through forge\n" }, message: "first" });
    const event = pushEvent(inst, repo, { ref: "main", mainbranch: true, after: commit.hash, created: false, closed: false, forced: false, truncated: false, commits: [{ hash: commit.hash, message: { value: "first", truncated: false }, date: new Date().toISOString(), author: { user: { type: "user", accountId: "x", uuid: "{x}" } } }] });
    assert.deepEqual(await forge.sendEvent(inst, event), [202]);
    // Forge's retry of the same event (with retryContext) is the same delivery: stored once.
    assert.deepEqual(await forge.sendEvent(inst, { ...event, retryContext: { retryCount: 1, retryReason: "TIMEOUT" } }), [200]);
    assert.equal(await models.Delivery.count({ where: { tenantId: tenant.id } }), 1);

    const build = await buildReaches(server, appId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(build.state, "SUCCESSFUL");
    assert.ok(bb.gitCalls.some((c) => c.auth === "basic" && c.clientKey === inst.clientKey && c.status === 200), "cloned with the system token (x-token-auth)");
    await eventually(() => bb.statuses("acme-forge", "app", commit.hash).some((s) => s.state === "SUCCESSFUL"));
    const posts = bb.calls.filter((c) => c.method === "POST" && c.path.endsWith(`/commit/${commit.hash}/statuses/build`));
    assert.ok(posts.length >= 2 && posts.every((c) => c.auth === "bearer" && c.clientKey === inst.clientKey), "statuses posted with the installation's system token");
    const [status] = bb.statuses("acme-forge", "app", commit.hash);
    assert.match(status.url, new RegExp(`/acme-forge/app/forge/${APP_ID.split("/")[1]}/production/pipelines-builds\\?build=\\d+$`));

    // The merge check: the latest build of the pull request's source commit passed.
    bb.savePullRequest("acme-forge", "app", { id: 7, title: "x", source: { branch: "main", commit: commit.hash }, destination: { branch: "main", commit: commit.hash } });
    const check = await forge.mergeCheck(inst, repo.uuid, 7);
    assert.equal(check.status, 200);
    assert.deepEqual(check.body.success, true, check.body.message);
    assert.match(check.body.message ?? "", /passed/);
    const unknownPr = await forge.mergeCheck(inst, repo.uuid, 99);
    assert.equal(unknownPr.body.success, false);
  });

  it("48 hours without the hourly tick make the installation inactive (shown, no statuses); a tick brings it back; a reinstall takes the workspace over", async () => {
    const models = server.storage.models;
    const inst = await forge.install("acme-idle");
    await bb.createRepository("acme-idle", "svc");
    const tenant = (await models.Tenant.findOne({ where: { clientKey: `forge:${inst.installationId}` } }))!;
    const repo = { repositoryUuid: repoUuid(bb, "acme-idle", "svc") };
    assert.equal((await forge.invokeRemote(inst, { path: "/forge/ui/api/applications", method: "POST", body: { repository: "acme-idle/svc" } }, repo)).status, 201);
    await models.ForgeInstallation.update({ lastTickAt: new Date(Date.now() - 49 * 3600_000) }, { where: { tenantId: tenant.id } });
    const page = await forge.invokeRemote(inst, { path: "/forge/ui/pages/panel", method: "GET" }, repo);
    assert.equal((page.body as { installation: { state: string; reason: string } }).installation.state, "inactive");
    assert.match((page.body as { installation: { reason: string } }).installation.reason, /hourly/);
    assert.equal(await installationActive(models, (await tenant.reload())), false);
    assert.equal((await tenant.reload()).status, "inactive");
    assert.equal(await forge.tick(inst), 200);
    assert.equal(await installationActive(models, (await tenant.reload())), true);

    const again = await forge.reinstall(inst);
    const after = await models.Tenant.findAll({ where: { kind: "forge", principalUuid: inst.workspaceUuid } });
    assert.equal(after.length, 1, "the same tenant");
    assert.equal(after[0].id, tenant.id);
    assert.equal(after[0].clientKey, `forge:${again.installationId}`);
    assert.equal(await models.Application.count({ where: { tenantId: tenant.id } }), 1, "the applications stay with the workspace");
    const list = await forge.invokeRemote(again, { path: "/forge/ui/api/applications", method: "GET" }, repo);
    assert.equal((list.body as { values: unknown[] }).values.length, 1);
  });
});

function repoUuid(bb: BitbucketCloud, workspace: string, slug: string): string {
  return bb.repositoryUuid(workspace, slug);
}

async function eventually(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}
