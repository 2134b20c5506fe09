import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { buildReaches, installWorld, stepLog, type World } from "../support/build-world";
import { startTestServer, type TestServer } from "../support/test-server";

const git = (gitDir: string, ...args: string[]) =>
  execFileSync("git", [`--git-dir=${gitDir}`, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" } }).trim();

/**
 * Whole builds on the default (sandbox) executor, the repository served by the Bitbucket Cloud stand-in over smart
 * HTTP: the runner's mirror is fetched incrementally, never shared between tenants, never writable by a step, and
 * `clone:` options are honoured.
 */
describe("runner: builds check out from the runner's git mirror", function () {
  this.timeout(120_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  const marker = `${process.pid}-${randomBytes(3).toString("hex")}`;

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer({ PIPELINES_STEP_DISK: "256MiB", PIPELINES_RUNNER_SLOTS: "2" });
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
    fs.rmSync(`/tmp/mirror-pwned-${marker}`, { force: true });
  });

  const mirrorsRoot = () => path.join(server.dataDir, "runner", "state", "mirrors");
  /** The one mirror of an application (its folder holds exactly one). */
  const mirrorOf = (w: World) => {
    const dir = path.join(mirrorsRoot(), `app-${w.applicationId}`);
    const names = fs.readdirSync(dir).filter((n) => n.endsWith(".git"));
    assert.equal(names.length, 1, `one mirror in ${dir}: ${names.join(", ")}`);
    return path.join(dir, names[0]);
  };
  /** Bytes the stand-in sent to git-upload-pack requests of a repository since `from` (an index in gitCalls). */
  const packBytes = (w: World, from: number) =>
    bb.gitCalls.slice(from).filter((c) => c.path === `/${w.workspace}/${w.slug}.git/git-upload-pack`).reduce((n, c) => n + c.responseBytes, 0);
  const push = async (w: World, files: Record<string, string>, message: string) => {
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files, message });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED", "STOPPED"], 60_000);
    const log = await stepLog(server, build.id, 0);
    return { commit: commit.hash, build, log };
  };
  const printing = (lines: string[], clone = "") => `${clone}pipelines:\n  default:\n    - step:\n        name: Print\n        script:\n${lines.map((l) => `          - ${l}\n`).join("")}`;

  it("the second build fetches only the new objects into the mirror", async () => {
    const w = await installWorld(bb, server, "mirror");
    const pipeline = printing(["cat marker.txt", "test \"$(git rev-parse HEAD)\" = \"$BITBUCKET_COMMIT\" && echo at-the-commit", "echo \"origin=$(git remote get-url origin)\""]);
    const big = randomBytes(3 * 1024 * 1024).toString("base64");
    let from = bb.gitCalls.length;
    const first = await push(w, { "bitbucket-pipelines.yml": pipeline, "big.txt": big, "marker.txt": "first\n" }, "big history");
    assert.equal(first.build.state, "SUCCESSFUL", first.log);
    assert.match(first.log, /into this runner's mirror of the repository/);
    assert.match(first.log, /^first$/m);
    const firstBytes = packBytes(w, from);
    assert.ok(firstBytes > 3 * 1024 * 1024, `the first fetch got the history (${firstBytes} bytes)`);

    from = bb.gitCalls.length;
    const second = await push(w, { "marker.txt": "second\n" }, "small change");
    assert.equal(second.build.state, "SUCCESSFUL", second.log);
    assert.match(second.log, /^second$/m);
    assert.match(second.log, /at-the-commit/);
    assert.ok(second.log.includes(`origin=${bb.cloneUrl(w.workspace, w.slug)}\n`), second.log);
    const secondBytes = packBytes(w, from);
    assert.ok(secondBytes > 0 && secondBytes < 20_000, `the second fetch got only the new objects (${secondBytes} bytes, the first ${firstBytes})`);

    const mirror = mirrorOf(w);
    assert.equal(git(mirror, "rev-parse", "refs/heads/main"), second.commit);
    git(mirror, "fsck", "--no-dangling");
    // The runner's step log never shows where the runner keeps its state.
    assert.doesNotMatch(second.log, new RegExp(server.dataDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  });

  it("two tenants whose repositories have the same name never share a mirror", async () => {
    const a = await installWorld(bb, server, "tenanta", "same");
    const b = await installWorld(bb, server, "tenantb", "same");
    const pipeline = printing(["cat who.txt"]);
    const ba = await push(a, { "bitbucket-pipelines.yml": pipeline, "who.txt": "tenant-a\n" }, "a");
    const bbuild = await push(b, { "bitbucket-pipelines.yml": pipeline, "who.txt": "tenant-b\n" }, "b");
    assert.match(ba.log, /^tenant-a$/m);
    assert.match(bbuild.log, /^tenant-b$/m);
    const [ma, mb] = [mirrorOf(a), mirrorOf(b)];
    assert.notEqual(path.dirname(ma), path.dirname(mb));
    assert.throws(() => git(ma, "cat-file", "-e", `${bbuild.commit}^{commit}`), "A's mirror does not hold B's commit");
    assert.throws(() => git(mb, "cat-file", "-e", `${ba.commit}^{commit}`), "B's mirror does not hold A's commit");
  });

  it("a hostile step cannot reach or write the mirror, and what it plants in its clone never runs", async () => {
    const w = await installWorld(bb, server, "hostile");
    const benign = await push(w, { "bitbucket-pipelines.yml": printing(["cat data.txt"]), "data.txt": "genuine-1\n" }, "benign");
    assert.equal(benign.build.state, "SUCCESSFUL", benign.log);
    const mirror = mirrorOf(w);
    const configBefore = fs.readFileSync(path.join(mirror, "config"), "utf8");
    const hostMarker = `/tmp/mirror-pwned-${marker}`;
    const objs = "/opt/atlassian/pipelines/agent/repo/.git/objects";
    // Each attempt prints "ATT"+"ACK-OK …" only when it worked; the command lines themselves never contain that word.
    const attempts = [
      "A=ATT",
      `touch ${objs}/pwned 2>/dev/null && echo "\${A}ACK-OK wrote into the job's objects"`,
      `mkdir -p ${objs}/ee 2>/dev/null && echo x > ${objs}/ee/pwned 2>/dev/null && echo "\${A}ACK-OK planted an object"`,
      `echo evil | git hash-object -w --stdin >/dev/null 2>&1 && test -n "$(find ${objs} -newer data.txt -type f 2>/dev/null)" && echo "\${A}ACK-OK hash-object reached the job's objects"`,
      `ls ${mirrorsRoot()} >/dev/null 2>&1 && echo "\${A}ACK-OK sees the runner's mirrors"`,
      `echo "${mirror}/objects" > .git/objects/info/alternates && echo evil2 | GIT_OBJECT_DIRECTORY=${mirror}/objects git hash-object -w --stdin >/dev/null 2>&1 && echo "\${A}ACK-OK wrote into the mirror"`,
      `touch ${mirror}/config 2>/dev/null && echo "\${A}ACK-OK touched the mirror's config"`,
      `mkdir ${mirror}/hooks 2>/dev/null && echo "\${A}ACK-OK made the mirror's hooks"`,
      // Planted in its own clone: hooks and config that would run if the runner ran git there afterwards.
      "mkdir -p .git/hooks",
      `printf '#!/bin/sh\\ntouch ${hostMarker}\\n' > .git/hooks/post-checkout`,
      "cp .git/hooks/post-checkout .git/hooks/pre-auto-gc && cp .git/hooks/post-checkout .git/hooks/reference-transaction && chmod +x .git/hooks/*",
      `git config core.fsmonitor "touch ${hostMarker}"`,
      `git config core.sshCommand "touch ${hostMarker}"`,
      "echo hostile-step-ran-$((40+2))",
    ];
    const hostile = await push(w, { "bitbucket-pipelines.yml": printing(attempts), "data.txt": "genuine-2\n" }, "hostile");
    assert.match(hostile.log, /hostile-step-ran-42/, hostile.log);
    assert.doesNotMatch(hostile.log, /ATTACK-OK/, hostile.log);
    assert.equal(hostile.build.state, "SUCCESSFUL", hostile.log);

    // The next build of the same repository: a sound mirror, the genuine content, nothing planted ran.
    const after = await push(w, { "bitbucket-pipelines.yml": printing(["cat data.txt", "git cat-file -e HEAD && echo objects-ok"]), "data.txt": "genuine-3\n" }, "after");
    assert.equal(after.build.state, "SUCCESSFUL", after.log);
    assert.match(after.log, /^genuine-3$/m);
    git(mirror, "fsck", "--no-dangling");
    assert.equal(fs.readFileSync(path.join(mirror, "config"), "utf8"), configBefore);
    assert.ok(!fs.existsSync(path.join(mirror, "hooks")));
    assert.ok(!fs.existsSync(hostMarker), "nothing the step planted ran on the runner");
    const blob = execFileSync("git", ["hash-object", "--stdin"], { input: "evil\n", encoding: "utf8" }).trim();
    assert.throws(() => git(mirror, "cat-file", "-e", blob), "the step's object is not in the mirror");
  });

  it("clone: lfs: true gives steps the Git LFS files (fetched once into the mirror, only from the repository's endpoint)", async () => {
    const w = await installWorld(bb, server, "lfs");
    const content = randomBytes(200_000).toString("base64");
    const obj = bb.addLfsObject(w.workspace, w.slug, content);
    const expected = execFileSync("sha256sum", { input: content, encoding: "utf8" }).split(" ")[0];
    // A committed .lfsconfig pointing somewhere else: the runner must neither use it nor send the token there.
    const seen: string[] = [];
    const thief = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? "-"}`);
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => thief.listen(0, "127.0.0.1", r));
    const thiefUrl = `http://127.0.0.1:${(thief.address() as AddressInfo).port}/steal`;
    try {
      const file = `clone:\n  lfs: true\npipelines:\n  default:\n    - step:\n        name: With LFS\n        script:\n          - sha256sum data/big.bin\n          - git status --porcelain\n          - echo "changed=$(git status --porcelain | wc -l)"\n    - step:\n        name: Without\n        clone:\n          lfs: false\n        script:\n          - head -1 data/big.bin\n`;
      let from = bb.gitCalls.length;
      const first = await push(w, { "bitbucket-pipelines.yml": file, ".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n", ".lfsconfig": `[lfs]\n\turl = ${thiefUrl}\n`, "data/big.bin": obj.pointer }, "lfs");
      assert.equal(first.build.state, "SUCCESSFUL", first.log);
      assert.match(first.log, new RegExp(`^${expected}  data/big.bin$`, "m"));
      assert.match(first.log, /^changed=0$/m, `git status sees the LFS file as committed:\n${first.log}`);
      assert.match(first.log, /1 Git LFS file at/);
      const downloads = (since: number) => bb.gitCalls.slice(since).filter((c) => c.path.includes("/info/lfs/objects/") && c.method === "GET").length;
      assert.equal(downloads(from), 1);
      const without = await stepLog(server, first.build.id, 1);
      assert.match(without, /^version https:\/\/git-lfs\.github\.com\/spec\/v1$/m, "a step with lfs: false sees the pointer file");
      assert.deepEqual(seen, [], "nothing went to the URL of the committed .lfsconfig");

      from = bb.gitCalls.length;
      const second = await push(w, { "notes.txt": "more\n" }, "again");
      assert.equal(second.build.state, "SUCCESSFUL", second.log);
      assert.match(second.log, new RegExp(`^${expected}  data/big.bin$`, "m"));
      assert.equal(downloads(from), 0, "the second build found the LFS object in the mirror");
    } finally {
      thief.close();
    }
  });

  it("honours clone: depth and clone: enabled: false", async () => {
    const w = await installWorld(bb, server, "cloneopts");
    for (let i = 0; i < 4; i++) await bb.commit(w.workspace, w.slug, { files: { [`n${i}.txt`]: String(i) }, message: `c${i}` });
    const shallow = await push(w, { "bitbucket-pipelines.yml": printing(["echo depth=$(git rev-list --count HEAD)"], "clone:\n  depth: 3\n") }, "depth 3");
    assert.equal(shallow.build.state, "SUCCESSFUL", shallow.log);
    assert.match(shallow.log, /^depth=3$/m);
    assert.match(shallow.log, /\(depth 3\)/);
    assert.ok(Number(git(mirrorOf(w), "rev-list", "--count", shallow.commit)) >= 5, "the mirror keeps the whole history");

    const full = await push(w, { "bitbucket-pipelines.yml": printing(["echo depth=$(git rev-list --count HEAD)"], "clone:\n  depth: full\n") }, "full");
    assert.match(full.log, new RegExp(`^depth=${git(mirrorOf(w), "rev-list", "--count", full.commit)}$`, "m"));
    assert.match(full.log, /already in this runner's mirror|into this runner's mirror of the repository/);

    const off = await push(w, { "bitbucket-pipelines.yml": printing(["test ! -e .git && test -z \"$(ls -A)\" && echo empty-work-tree"], "clone:\n  enabled: false\n") }, "off");
    assert.equal(off.build.state, "SUCCESSFUL", off.log);
    assert.match(off.log, /cloning is turned off for this step/);
    assert.match(off.log, /^empty-work-tree$/m);
  });
});
