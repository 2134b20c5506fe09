import assert from "node:assert/strict";
import { qshOfUrl } from "../../src/forges/cloud-connect/jwt/qsh";
import { signHs256 } from "../../src/forges/cloud-connect/jwt/token";
import { startBitbucketCloud, type BitbucketCloud } from "./cloud";
import { APP_KEY, SCOPES, startFakeConnectApp, type FakeConnectApp } from "./support/fake-connect-app";

describe("Bitbucket Cloud stand-in: REST API", () => {
  let cloud: BitbucketCloud;
  let app: FakeConnectApp;
  let clientKey: string;
  let secret: string;
  let head: string;

  before(async () => {
    cloud = await startBitbucketCloud();
    app = await startFakeConnectApp();
    await cloud.createRepository("acme", "demo");
    await cloud.createRepository("acme", "other");
    await cloud.createRepository("globex", "secret-sauce");
    head = (await cloud.commit("acme", "demo", { files: { "bitbucket-pipelines.yml": "pipelines:\n  default:\n    - step:\n        script: [echo hi]\n", "docs/a.md": "# A\n" }, message: "Add pipeline" })).hash;
    const inst = await cloud.install(app.baseUrl, { workspace: "acme" });
    clientKey = inst.clientKey;
    secret = inst.sharedSecret;
    await cloud.install(app.baseUrl, { workspace: "globex" });
  });
  after(async () => {
    await app.stop();
    await cloud.stop();
  });

  /** A request signed by hand, to break one thing at a time. */
  async function signed(method: string, pathAndQuery: string, claims: Record<string, unknown> = {}, key = secret): Promise<{ status: number; json: Record<string, unknown> }> {
    const url = `${cloud.apiUrl}${pathAndQuery}`;
    const iat = Math.floor(Date.now() / 1000);
    const token = signHs256({ iss: APP_KEY, sub: clientKey, iat, exp: iat + 180, qsh: qshOfUrl(method, url, cloud.apiUrl), ...claims }, key);
    const res = await fetch(url, { method, headers: { Authorization: `JWT ${token}` } });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it("accepts the app's JWT for exactly this call, records it, and sends X-OAuth-Scopes", async () => {
    const res = await app.api(clientKey, "GET", "/2.0/repositories/acme/demo");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-oauth-scopes"), SCOPES.join(", "));
    const repo = res.json as Record<string, Record<string, unknown>>;
    assert.equal(repo.full_name as unknown, "acme/demo");
    assert.deepEqual(repo.mainbranch, { name: "main", type: "branch" });
    const clone = repo.links.clone as { name: string; href: string }[];
    assert.equal(clone.find((c) => c.name === "https")!.href, `${cloud.siteUrl}/acme/demo.git`);
    assert.match(clone.find((c) => c.name === "ssh")!.href, /^git@127\.0\.0\.1:acme\/demo\.git$/);
    const call = cloud.calls.at(-1)!;
    assert.deepEqual([call.server, call.method, call.path, call.status, call.auth, call.clientKey], ["api", "GET", "/2.0/repositories/acme/demo", 200, "jwt", clientKey]);
    assert.match(String(call.headers.authorization), /^JWT /);

    const user = await app.api(clientKey, "GET", "/2.0/user");
    assert.equal((user.json as Record<string, unknown>).uuid, cloud.workspaceUuid("acme"));
    const ws = await app.api(clientKey, "GET", "/2.0/workspaces/acme");
    assert.deepEqual([ws.status, (ws.json as Record<string, unknown>).slug], [200, "acme"]);
  });

  it("refuses a JWT with a bad signature, qsh, expiry, issuer, subject or algorithm with a 401 error body", async () => {
    const path = "/2.0/repositories/acme/demo";
    const cases: [string, Promise<{ status: number; json: Record<string, unknown> }>, RegExp][] = [
      ["wrong secret", signed("GET", path, {}, "not-the-secret"), /signature/],
      ["qsh of another path", signed("GET", path, { qsh: qshOfUrl("GET", `${cloud.apiUrl}/2.0/user`, cloud.apiUrl) }), /qsh/],
      ["qsh without the query", signed("GET", `${path}?fields=name`, { qsh: qshOfUrl("GET", `${cloud.apiUrl}${path}`, cloud.apiUrl) }), /qsh/],
      ["qsh of another method", signed("GET", path, { qsh: qshOfUrl("POST", `${cloud.apiUrl}${path}`, cloud.apiUrl) }), /qsh/],
      ["expired", signed("GET", path, { exp: Math.floor(Date.now() / 1000) - 1 }), /expired/],
      ["iss is not the app key", signed("GET", path, { iss: clientKey }), /iss/],
      ["unknown sub", signed("GET", path, { sub: "ari:cloud:bitbucket::app/{nope}/x" }), /No installation/],
      ["no sub", signed("GET", path, { sub: undefined }), /sub/],
    ];
    for (const [why, pending, message] of cases) {
      const res = await pending;
      assert.equal(res.status, 401, why);
      assert.equal(res.json.type, "error", why);
      assert.match(String((res.json.error as Record<string, unknown>).message), message, why);
    }
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    const body = Buffer.from(JSON.stringify({ iss: APP_KEY, sub: clientKey, exp: 9999999999, qsh: qshOfUrl("GET", `${cloud.apiUrl}${path}`, cloud.apiUrl) })).toString("base64url");
    const algNone = await fetch(`${cloud.apiUrl}${path}`, { headers: { Authorization: `JWT ${none}.${body}.` } });
    assert.equal(algNone.status, 401);
    const anonymous = await fetch(`${cloud.apiUrl}${path}`);
    assert.equal(anonymous.status, 401);
    assert.equal(cloud.calls.at(-1)!.auth, null);
    // After a re-install only the new secret works.
    await cloud.install(app.baseUrl, { workspace: "acme" });
    assert.equal((await signed("GET", path)).status, 401);
    secret = cloud.currentSecret(clientKey)!;
    assert.equal((await signed("GET", path)).status, 200);
  });

  it("keeps a tenant to its own workspace: another workspace's repository is 404, its workspace 403", async () => {
    const repo = await app.api(clientKey, "GET", "/2.0/repositories/globex/secret-sauce");
    assert.equal(repo.status, 404);
    assert.equal((repo.json as Record<string, unknown>).type, "error");
    assert.equal((await app.api(clientKey, "GET", "/2.0/workspaces/globex")).status, 403);
    assert.equal((await app.api(clientKey, "GET", "/2.0/repositories/globex")).status, 403);
    assert.equal((await app.api(clientKey, "GET", "/2.0/repositories/acme/nope")).status, 404);
  });

  it("lists repositories page by page", async () => {
    const page1 = await app.api(clientKey, "GET", "/2.0/repositories/acme?pagelen=1");
    const p1 = page1.json as Record<string, unknown>;
    assert.deepEqual([p1.size, p1.page, p1.pagelen, (p1.values as unknown[]).length], [2, 1, 1, 1]);
    assert.equal(p1.next, `${cloud.apiUrl}/2.0/repositories/acme?pagelen=1&page=2`);
    const page2 = await app.api(clientKey, "GET", "/2.0/repositories/acme?pagelen=1&page=2");
    const p2 = page2.json as Record<string, unknown>;
    assert.equal(((p2.values as Record<string, unknown>[])[0]).slug, "other");
    assert.equal(p2.next, undefined);
  });

  it("resolves a 12-character hash to the full commit and serves files from git", async () => {
    const short = head.slice(0, 12);
    const commit = await app.api(clientKey, "GET", `/2.0/repositories/acme/demo/commit/${short}`);
    assert.equal(commit.status, 200);
    const c = commit.json as Record<string, unknown>;
    assert.equal(c.hash, head);
    assert.equal(c.message, "Add pipeline\n");
    assert.equal((c.author as Record<string, unknown>).raw, "Stand-in Developer <developer@standin.example>");
    assert.equal((await app.api(clientKey, "GET", "/2.0/repositories/acme/demo/commit/0000000000ab")).status, 404);

    const file = await app.api(clientKey, "GET", `/2.0/repositories/acme/demo/src/${head}/bitbucket-pipelines.yml`);
    assert.equal(file.status, 200);
    assert.match(file.text, /^pipelines:\n/);
    const byBranch = await app.api(clientKey, "GET", "/2.0/repositories/acme/demo/src/main/docs/a.md");
    assert.equal(byBranch.text, "# A\n");
    const meta = await app.api(clientKey, "GET", `/2.0/repositories/acme/demo/src/${head}/docs/a.md?format=meta`);
    assert.deepEqual([(meta.json as Record<string, unknown>).type, (meta.json as Record<string, unknown>).size], ["commit_file", 4]);
    const dir = await app.api(clientKey, "GET", `/2.0/repositories/acme/demo/src/${head}/`);
    assert.deepEqual(((dir.json as { values: { path: string }[] }).values).map((v) => v.path).sort(), ["bitbucket-pipelines.yml", "docs"]);
    const missing = await app.api(clientKey, "GET", `/2.0/repositories/acme/demo/src/${head}/nope.yml`);
    assert.equal(missing.status, 404);
    assert.equal((missing.json as Record<string, unknown>).type, "error");
  });

  it("validates build statuses, stores the latest per (commit, key) and keeps the history", async () => {
    const path = `/2.0/repositories/acme/demo/commit/${head}/statuses/build`;
    const base = { key: "pipelines-default", state: "INPROGRESS", url: "http://ci.example/b/1", name: "Pipeline #1", description: "running", refname: "main" };
    const created = await app.api(clientKey, "POST", path, base);
    assert.equal(created.status, 201);
    const s = created.json as Record<string, unknown>;
    assert.deepEqual([s.type, s.key, s.state, s.refname], ["build", "pipelines-default", "INPROGRESS", "main"]);
    assert.equal((s.commit as Record<string, unknown>).hash, head);
    assert.equal((await app.api(clientKey, "POST", path, { ...base, state: "SUCCESSFUL" })).status, 200);
    assert.equal((await app.api(clientKey, "POST", `/2.0/repositories/acme/demo/commit/${head.slice(0, 12)}/statuses/build`, { ...base, key: "other-key", state: "FAILED" })).status, 201);

    for (const [body, field] of [
      [{ ...base, key: "k".repeat(41) }, "key"],
      [{ ...base, state: "DONE" }, "state"],
      [{ ...base, url: undefined }, "url"],
      [{ ...base, key: undefined }, "key"],
    ] as const) {
      const bad = await app.api(clientKey, "POST", path, body);
      assert.equal(bad.status, 400, field);
      assert.ok(((bad.json as { error: { fields: Record<string, unknown> } }).error.fields)[field], field);
    }
    assert.equal((await app.api(clientKey, "POST", path, { ...base, key: "k".repeat(40) })).status, 201);
    assert.equal((await app.api(clientKey, "POST", "/2.0/repositories/acme/demo/commit/0000000000000000000000000000000000000000/statuses/build", base)).status, 404);

    const latest = cloud.statuses("acme", "demo", head);
    assert.deepEqual(latest.map((x) => `${x.key}=${x.state}`).sort(), ["k".repeat(40) + "=INPROGRESS", "other-key=FAILED", "pipelines-default=SUCCESSFUL"]);
    assert.deepEqual(cloud.statusHistory("acme", "demo").filter((x) => x.key === "pipelines-default").map((x) => x.state), ["INPROGRESS", "SUCCESSFUL"]);
    const list = await app.api(clientKey, "GET", `/2.0/repositories/acme/demo/commit/${head}/statuses`);
    assert.equal((list.json as { size: number }).size, 3);
    const one = await app.api(clientKey, "GET", `${path}/pipelines-default`);
    assert.equal((one.json as Record<string, unknown>).state, "SUCCESSFUL");
  });

  it("creates, lists, reads and deletes webhook subscriptions; a missing scope is a 403", async () => {
    const create = await app.api(clientKey, "POST", "/2.0/repositories/acme/demo/hooks", { description: "Pipelines", url: "https://ci.example/hook", active: true, events: ["repo:push", "pullrequest:created"] });
    assert.equal(create.status, 201);
    const hook = create.json as Record<string, unknown>;
    assert.equal(hook.type, "webhook_subscription");
    assert.match(String(hook.uuid), /^\{[0-9a-f-]{36}\}$/);
    const list = await app.api(clientKey, "GET", "/2.0/repositories/acme/demo/hooks");
    assert.equal((list.json as { values: unknown[] }).values.length, 1);
    const uid = encodeURIComponent(String(hook.uuid));
    assert.equal((await app.api(clientKey, "GET", `/2.0/repositories/acme/demo/hooks/${uid}`)).status, 200);
    assert.equal((await app.api(clientKey, "POST", "/2.0/repositories/acme/demo/hooks", { url: "https://ci.example/hook", events: ["nope:event"] })).status, 400);
    assert.equal((await app.api(clientKey, "DELETE", `/2.0/repositories/acme/demo/hooks/${uid}`)).status, 204);
    assert.equal(cloud.hooks("acme", "demo").length, 0);

    cloud.grantScopes("acme", ["repository", "account"]);
    try {
      const denied = await app.api(clientKey, "POST", "/2.0/repositories/acme/demo/hooks", { url: "https://ci.example/hook", events: ["repo:push"] });
      assert.equal(denied.status, 403);
      assert.equal(denied.headers.get("x-oauth-scopes"), "repository, account");
      assert.match(JSON.stringify(denied.json), /privilege scopes/);
      assert.equal((await app.api(clientKey, "GET", "/2.0/repositories/acme/demo")).status, 200);
    } finally {
      cloud.grantScopes("acme", null);
    }
  });

  it("adds, lists and deletes SSH keys of a user", async () => {
    const user = encodeURIComponent(cloud.workspaceUuid("acme"));
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl pipelines@example";
    const add = await app.api(clientKey, "POST", `/2.0/users/${user}/ssh-keys`, { key, label: "Pipelines" });
    assert.equal(add.status, 201);
    const k = add.json as Record<string, unknown>;
    assert.deepEqual([k.type, k.label, k.comment], ["ssh_key", "Pipelines", "pipelines@example"]);
    assert.equal((await app.api(clientKey, "POST", `/2.0/users/${user}/ssh-keys`, { key: "not a key" })).status, 400);
    const list = await app.api(clientKey, "GET", `/2.0/users/${user}/ssh-keys`);
    assert.equal((list.json as { values: unknown[] }).values.length, 1);
    assert.equal((await app.api(clientKey, "DELETE", `/2.0/users/${user}/ssh-keys/${encodeURIComponent(String(k.uuid))}`)).status, 204);
    assert.equal(cloud.sshKeys().length, 0);
  });

  it("answers a saved pull request with 12-character commit hashes", async () => {
    const feature = await cloud.commit("acme", "demo", { branch: "feature", files: { "f.txt": "x" }, message: "Feature" });
    cloud.savePullRequest("acme", "demo", { id: 3, title: "Feature", source: { branch: "feature", commit: feature.hash }, destination: { branch: "main", commit: head } });
    const pr = await app.api(clientKey, "GET", "/2.0/repositories/acme/demo/pullrequests/3");
    assert.equal(pr.status, 200);
    const p = pr.json as Record<string, Record<string, Record<string, unknown>>>;
    assert.equal(p.source.commit.hash, feature.shortHash);
    assert.equal(p.destination.commit.hash, head.slice(0, 12));
    assert.equal((await app.api(clientKey, "GET", "/2.0/repositories/acme/demo/pullrequests/4")).status, 404);
  });
});
