import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { startBitbucketCloud, type BitbucketCloud } from "./cloud";
import { gitEnvironment } from "./cloud/git-exec";
import { SCOPES, startFakeConnectApp, type FakeConnectApp } from "./support/fake-connect-app";

const run = promisify(execFile);

function pkt(line: string): string {
  return (line.length + 4).toString(16).padStart(4, "0") + line;
}

describe("Bitbucket Cloud stand-in: JWT grant and git over HTTP", () => {
  let cloud: BitbucketCloud;
  let app: FakeConnectApp;
  let clientKey: string;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  let first: string;

  async function git(args: string[], cwd?: string): Promise<{ stdout: string; stderr: string }> {
    return run("git", args, { cwd, env });
  }

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), "standin-git-test-"));
    env = gitEnvironment(tmp);
    cloud = await startBitbucketCloud({ webhookRetryDelayMs: 5 });
    app = await startFakeConnectApp();
    await cloud.createRepository("acme", "demo");
    await cloud.createRepository("globex", "theirs");
    first = (await cloud.commit("acme", "demo", { files: { "bitbucket-pipelines.yml": "pipelines: {}\n", "src/app.txt": "v1\n" }, message: "Initial" })).hash;
    clientKey = (await cloud.install(app.baseUrl, { workspace: "acme" })).clientKey;
  });
  after(async () => {
    await app.stop();
    await cloud.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it("issues an access token for the app's JWT; the token works on the API", async () => {
    const grant = await app.accessToken(clientKey);
    assert.equal(grant.status, 200);
    assert.deepEqual([grant.json.token_type, grant.json.expires_in, grant.json.scopes], ["bearer", 3600, SCOPES.join(" ")]);
    assert.equal(typeof grant.json.access_token, "string");
    const call = cloud.calls.at(-1)!;
    assert.deepEqual([call.server, call.path, call.auth, call.clientKey, call.status], ["site", "/site/oauth2/access_token", "jwt", clientKey, 200]);
    assert.deepEqual(call.body, { grant_type: "urn:bitbucket:oauth2:jwt" });

    const api = await fetch(`${cloud.apiUrl}/2.0/repositories/acme/demo`, { headers: { Authorization: `Bearer ${String(grant.json.access_token)}` } });
    assert.equal(api.status, 200);
    assert.equal(api.headers.get("x-oauth-scopes"), SCOPES.join(", "));
    assert.equal(cloud.calls.at(-1)!.auth, "bearer");
    assert.equal((await fetch(`${cloud.apiUrl}/2.0/user`, { headers: { Authorization: "Bearer nope" } })).status, 401);
  });

  it("refuses the grant with a bad JWT or another grant type", async () => {
    const url = `${cloud.siteUrl}/site/oauth2/access_token`;
    const form = { "Content-Type": "application/x-www-form-urlencoded" };
    const noJwt = await fetch(url, { method: "POST", headers: form, body: "grant_type=urn%3Abitbucket%3Aoauth2%3Ajwt" });
    assert.equal(noJwt.status, 401);
    const bad = await fetch(url, { method: "POST", headers: { ...form, Authorization: "JWT a.b.c" }, body: "grant_type=urn%3Abitbucket%3Aoauth2%3Ajwt" });
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as Record<string, unknown>).error, "invalid_grant");
    const other = await fetch(url, { method: "POST", headers: form, body: "grant_type=client_credentials" });
    assert.equal(other.status, 400);
  });

  it("clones over HTTP with the token in http.extraHeader, and records git calls without the token", async () => {
    const token = String((await app.accessToken(clientKey)).json.access_token);
    const dir = path.join(tmp, "clone-bearer");
    await git(["-c", `http.extraHeader=Authorization: Bearer ${token}`, "clone", "--quiet", cloud.cloneUrl("acme", "demo"), dir]);
    assert.equal(await fs.readFile(path.join(dir, "src/app.txt"), "utf8"), "v1\n");
    assert.equal((await git(["rev-parse", "HEAD"], dir)).stdout.trim(), first);
    const calls = cloud.gitCalls.filter((c) => c.auth === "bearer");
    assert.ok(calls.some((c) => c.path === "/acme/demo.git/info/refs" && c.service === "git-upload-pack" && c.status === 200));
    assert.ok(calls.some((c) => c.path === "/acme/demo.git/git-upload-pack" && c.method === "POST" && c.status === 200));
    assert.ok(calls.every((c) => c.clientKey === clientKey));
    assert.ok(!JSON.stringify(cloud.gitCalls).includes(token), "the token never appears in the git log");

    // Basic x-token-auth works too (after the 401 challenge), and so does a push.
    const basicDir = path.join(tmp, "clone-basic");
    const url = cloud.cloneUrl("acme", "demo").replace("http://", `http://x-token-auth:${token}@`);
    await git(["clone", "--quiet", url, basicDir]);
    assert.ok(cloud.gitCalls.some((c) => c.auth === "basic" && c.status === 200));
    await fs.writeFile(path.join(basicDir, "pushed.txt"), "by git push\n");
    await git(["add", "-A"], basicDir);
    await git(["-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "pushed"], basicDir);
    await git(["push", "--quiet", "origin", "HEAD:refs/heads/pushed"], basicDir);
    const pushed = (await git(["rev-parse", "HEAD"], basicDir)).stdout.trim();
    assert.equal(await cloud.resolveCommit("acme", "demo", "pushed"), pushed);
  });

  it("refuses git without a token, with a wrong or expired token, and another workspace's repository", async () => {
    const clone = (name: string, header?: string, repoUrl = cloud.cloneUrl("acme", "demo")) =>
      git([...(header ? ["-c", `http.extraHeader=${header}`] : []), "clone", "--quiet", repoUrl, path.join(tmp, name)]);
    await assert.rejects(clone("none"), /Authentication failed|could not read Username/);
    await assert.rejects(clone("wrong", "Authorization: Bearer wrong-token"), /Authentication failed|could not read Username/);
    const refused = cloud.gitCalls.filter((c) => c.status === 401);
    assert.ok(refused.some((c) => c.auth === null));
    assert.ok(refused.some((c) => c.auth === "bearer"));
    const raw = await fetch(`${cloud.cloneUrl("acme", "demo")}/info/refs?service=git-upload-pack`);
    assert.equal(raw.status, 401);
    assert.equal(raw.headers.get("www-authenticate"), 'Basic realm="Bitbucket"');

    const token = cloud.issueAccessToken(clientKey);
    await assert.rejects(clone("theirs", `Authorization: Bearer ${token}`, cloud.cloneUrl("globex", "theirs")), /not found|404/);
    cloud.expireTokens();
    await assert.rejects(clone("expired", `Authorization: Bearer ${token}`), /Authentication failed|could not read Username/);
  });

  it("inflates a gzip request body from a git client before git http-backend reads it", async () => {
    const token = cloud.issueAccessToken(clientKey);
    const request = pkt(`want ${first} ofs-delta\n`) + "0000" + pkt("done\n");
    const res = await fetch(`${cloud.cloneUrl("acme", "demo")}/git-upload-pack`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/x-git-upload-pack-request",
        "Content-Encoding": "gzip",
        Accept: "application/x-git-upload-pack-result",
      },
      body: zlib.gzipSync(Buffer.from(request)),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/x-git-upload-pack-result");
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(body.subarray(0, 8).toString(), "0008NAK\n");
    assert.ok(body.includes(Buffer.from("PACK")));
  });

  it("commits with real git, resolves a 12-character hash, and pushAndNotify sends repo:push built from the commit", async () => {
    const c = await cloud.commit("acme", "demo", { files: { "src/app.txt": "v2\n", "bitbucket-pipelines.yml": null }, message: "Second" });
    assert.match(c.hash, /^[0-9a-f]{40}$/);
    assert.equal(c.shortHash, c.hash.slice(0, 12));
    assert.equal(c.previous, first);
    assert.deepEqual(c.parents, [first]);
    assert.equal(await cloud.resolveCommit("acme", "demo", c.shortHash), c.hash);
    assert.equal(await cloud.resolveCommit("acme", "demo", "main"), c.hash);
    assert.equal(await cloud.resolveCommit("acme", "demo", "--all"), null);

    const from = app.received.length;
    const { commit, delivery } = await cloud.pushAndNotify(app.baseUrl, clientKey, "acme", "demo", { files: { "src/app.txt": "v3\n" }, message: "Third", tag: "v3.0.0" });
    assert.equal(delivery.status, 204);
    const got = app.received.slice(from);
    assert.equal(got.length, 1);
    assert.equal(got[0].refused, null);
    const changes = ((got[0].body.data as Record<string, unknown>).push as { changes: Record<string, Record<string, unknown> | null>[] }).changes;
    assert.equal(changes.length, 2);
    const [branch, tag] = changes;
    assert.equal(branch.new!.name, "main");
    assert.equal((branch.new!.target as Record<string, unknown>).hash, commit.hash);
    assert.equal((branch.new!.target as Record<string, unknown>).message, "Third\n");
    assert.equal((branch.old!.target as Record<string, unknown>).hash, c.hash);
    assert.deepEqual([tag.new!.type, tag.new!.name, (tag.new!.target as Record<string, unknown>).hash], ["tag", "v3.0.0", commit.hash]);

    const created = await cloud.pushAndNotify(app.baseUrl, clientKey, "acme", "demo", { branch: "feature/x", files: { "x.txt": "x\n" } });
    const change = ((app.received.at(-1)!.body.data as Record<string, unknown>).push as { changes: Record<string, unknown>[] }).changes[0];
    assert.deepEqual([change.created, change.old], [true, null]);
    assert.deepEqual(created.commit.parents, [commit.hash], "a new branch starts from the main branch");

    await cloud.deleteBranchAndNotify(app.baseUrl, clientKey, "acme", "demo", "feature/x");
    const deleted = ((app.received.at(-1)!.body.data as Record<string, unknown>).push as { changes: Record<string, unknown>[] }).changes[0];
    assert.deepEqual([deleted.closed, deleted.new], [true, null]);
    assert.equal(await cloud.resolveCommit("acme", "demo", "refs/heads/feature/x"), null);
  });
});
