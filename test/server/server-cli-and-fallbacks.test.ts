import assert from "node:assert/strict";
import { startBitbucketServer, type BitbucketServerStandin } from "../standin/server";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches, eventually, stepLog } from "../support/build-world";
import { main } from "../../src/cli/server";

const PIPELINE = "pipelines:\n  default:\n    - step:\n        script:\n          - cat hello.txt\n";

/**
 * `pipelines server …` against the stand-in (password from the secret reader, never argv), and the fallbacks: git
 * over HTTP with the stored credentials, and the legacy build-status API when the new one answers 404.
 */
describe("pipelines server CLI, HTTP clone and legacy build statuses (stand-in without sshd)", function () {
  this.timeout(60_000);
  let bbs: BitbucketServerStandin;
  let server: TestServer;
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(`ERR ${l}`) };
  // The web tier listens on a port chosen at start; the CLI learns the public URL as an operator would give it.
  const run = (argv: string[], secret = "s3cret") => main(argv, io, { ...server.env, PIPELINES_BASE_URL: server.url }, async () => secret);

  before(async () => {
    bbs = await startBitbucketServer({ ssh: false, legacyBuildStatusOnly: true });
    bbs.users.set("alice", { password: "s3cret" });
    await bbs.createRepository("PROJ/web");
    server = await startTestServer();
  });
  after(async () => {
    await server?.stop();
    await bbs?.stop();
  });

  it("add refuses a wrong password (exit 1, nothing stored), a bad port (exit 2) and a TLS failure, saying which", async () => {
    assert.equal(await run(["add", "--host", bbs.url, "--username", "alice"], "nope"), 1);
    assert.match(lines.at(-1) ?? "", /^ERR credentials not added: .*refused the username or password.*401/);
    assert.equal(await run(["add", "--host", bbs.url, "--username", "alice", "--ssh-port", "70000"]), 2);
    // https:// to a server that speaks plain HTTP: the TLS handshake fails, and the message says it is TLS.
    assert.equal(await run(["add", "--host", bbs.url.replace("http://", "https://"), "--username", "alice"]), 1);
    assert.match(lines.at(-1) ?? "", /^ERR credentials not added: the TLS connection to https:\/\/127\.0\.0\.1:\d+ failed/);
    assert.equal(await server.storage.models.ServerConnection.count(), 0);
  });

  it("add → list (masked) → enable → push → HTTP clone → legacy status → disable → remove", async () => {
    assert.equal(await run(["add", "--host", `${bbs.url}/`, "--username", "alice", "--ssh-port", "7999", "--http-clone"]), 0, lines.join("\n"));
    const id = Number(/^connection (\d+):/.exec(lines.find((l) => l.startsWith("connection ")) ?? "")?.[1]);
    assert.ok(lines.some((l) => /^SSH key for cloning added to alice's SSH keys on the server: ssh-ed25519 /.test(l)), lines.join("\n"));
    assert.equal(bbs.sshKeys.length, 1, "the workspace key was added through /rest/ssh/1.0/keys");
    assert.equal(bbs.sshKeys[0].user, "alice");
    lines.length = 0;
    assert.equal(await run(["repos", "--id", String(id)]), 0);
    assert.deepEqual(lines, ["PROJ/web\tweb\tProject PROJ"]);
    lines.length = 0;
    assert.equal(await run(["list"]), 0);
    assert.match(lines[0], new RegExp(`^${id}\\t${bbs.url}\\talice\\tpassword ••••••••\\tssh port 7999\\thttp`));
    assert.ok(!lines.join("\n").includes("s3cret"));

    assert.equal(await run(["enable", "--id", String(id), "--repository", "PROJ/web"]), 0, lines.join("\n"));
    assert.equal(bbs.hooks.length, 1);
    const { commit, deliveries } = await bbs.pushAndNotify("PROJ/web", { "bitbucket-pipelines.yml": PIPELINE, "hello.txt": "over http\n" });
    assert.deepEqual(deliveries.map((d) => d.status), [202]);
    const app = await server.storage.models.Application.findOne({ where: { tenantId: id } });
    const build = await buildReaches(server, app!.id, commit.hash, ["SUCCESSFUL", "FAILED"], 30_000);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "SUCCESSFUL", log);
    assert.match(log, new RegExp(`from ${bbs.url}/scm/proj/web\\.git`));
    assert.match(log, /over http/);
    assert.ok(!log.includes("s3cret") && !log.includes(Buffer.from("alice:s3cret").toString("base64")));
    const legacy = await eventually("a legacy SUCCESSFUL status", async () => bbs.statusesOf(commit.hash).find((s) => s.body.state === "SUCCESSFUL"));
    assert.equal(legacy.api, "legacy");
    assert.ok(bbs.calls.some((c) => c.method === "POST" && c.path === `/rest/api/latest/projects/PROJ/repos/web/commits/${commit.hash}/builds` && c.status === 404));

    assert.equal(await run(["disable", "--id", String(id), "--repository", "PROJ/web"]), 0);
    assert.equal(bbs.hooks.length, 0);
    assert.equal(await run(["enable", "--id", String(id), "--repository", "PROJ/web"]), 0);
    assert.equal(await run(["remove", "--id", String(id)]), 0);
    assert.equal(bbs.hooks.length, 0);
    assert.equal(await run(["remove", "--id", String(id)]), 1);
  });
});
