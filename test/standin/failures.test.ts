import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startBitbucketCloud, type BitbucketCloud } from "./cloud";
import { gitEnvironment } from "./cloud/git-exec";
import { startFakeConnectApp, type FakeConnectApp } from "./support/fake-connect-app";

const run = promisify(execFile);

describe("Bitbucket Cloud stand-in: failure injection", () => {
  let cloud: BitbucketCloud;
  let app: FakeConnectApp;
  let clientKey: string;

  before(async () => {
    cloud = await startBitbucketCloud();
    app = await startFakeConnectApp();
    await cloud.createRepository("acme", "demo");
    await cloud.commit("acme", "demo", { files: { "README.md": "hi\n" } });
    clientKey = (await cloud.install(app.baseUrl, { workspace: "acme" })).clientKey;
  });
  afterEach(() => cloud.clearFailures());
  after(async () => {
    await app.stop();
    await cloud.stop();
  });

  it("fails the next matching calls with 500, then answers normally", async () => {
    const handle = cloud.failNext({ pathMatch: /\/repositories\/acme\/demo$/, times: 2, mode: { status: 500 } });
    assert.equal((await app.api(clientKey, "GET", "/2.0/user")).status, 200, "other paths are not affected");
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await app.api(clientKey, "GET", "/2.0/repositories/acme/demo")).status);
    assert.deepEqual(statuses, [500, 500, 200]);
    assert.equal(handle.remaining, 0);
    assert.deepEqual(cloud.calls.slice(-3).map((c) => c.status), [500, 500, 200]);
  });

  it("answers 429 with Retry-After, only for the given method", async () => {
    cloud.failNext({ method: "POST", pathMatch: /statuses\/build$/, mode: { status: 429, retryAfterSeconds: 7 } });
    const head = (await cloud.resolveCommit("acme", "demo", "main"))!;
    assert.equal((await app.api(clientKey, "GET", `/2.0/repositories/acme/demo/commit/${head}/statuses`)).status, 200);
    const limited = await app.api(clientKey, "POST", `/2.0/repositories/acme/demo/commit/${head}/statuses/build`, { key: "k", state: "SUCCESSFUL", url: "http://ci.example" });
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), "7");
    assert.equal(cloud.statuses("acme", "demo", head).length, 0, "a failed call changes nothing");
    assert.equal((await app.api(clientKey, "POST", `/2.0/repositories/acme/demo/commit/${head}/statuses/build`, { key: "k", state: "SUCCESSFUL", url: "http://ci.example" })).status, 201);
  });

  it("fails the token endpoint and git when told to", async () => {
    cloud.failNext({ server: "site", pathMatch: /access_token/, mode: { status: 500 } });
    assert.equal((await app.accessToken(clientKey)).status, 500);
    assert.equal((await app.accessToken(clientKey)).status, 200);

    const home = await fs.mkdtemp(path.join(os.tmpdir(), "standin-fail-"));
    try {
      cloud.failNext({ server: "git", mode: { status: 500 } });
      const token = cloud.issueAccessToken(clientKey);
      const args = ["-c", `http.extraHeader=Authorization: Bearer ${token}`, "clone", "--quiet", cloud.cloneUrl("acme", "demo")];
      await assert.rejects(run("git", [...args, path.join(home, "a")], { env: gitEnvironment(home) }), /500/);
      await run("git", [...args, path.join(home, "b")], { env: gitEnvironment(home) });
    } finally {
      await fs.rm(home, { recursive: true, force: true });
    }
  });

  it("hangs a request without answering, and stop() still closes everything", async () => {
    const own = await startBitbucketCloud();
    try {
      own.failNext({ mode: "hang" });
      const started = Date.now();
      await assert.rejects(fetch(`${own.apiUrl}/2.0/user`, { signal: AbortSignal.timeout(300) }), /abort|timeout/i);
      assert.ok(Date.now() - started >= 290);
      assert.equal(own.calls.at(-1)!.status, 0);

      own.failNext({ mode: "hang" });
      const pending = fetch(`${own.apiUrl}/2.0/user`).then(
        (r) => r.status,
        () => "closed",
      );
      await new Promise((r) => setTimeout(r, 50));
      const t0 = Date.now();
      await own.stop();
      assert.ok(Date.now() - t0 < 2000, "stop() does not wait for the hung request");
      assert.equal(await pending, "closed");
    } finally {
      await own.stop();
    }
  });
});
