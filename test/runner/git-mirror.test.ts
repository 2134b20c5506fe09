import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { checkoutFromMirror, mirrorPath, type MirrorCheckoutOptions } from "../../src/runner/git-mirror";
import { makeTempDir } from "./helpers";

const gitEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/nonexistent", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@e" };
const g = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

/**
 * The runner's git mirror, with a local repository standing in for the server (HTTP, credentials and the whole
 * build are exercised in test/runner/mirror-builds.test.ts): locking, repair of what a killed fetch leaves, rebuild
 * of a damaged mirror, one mirror per application, depth.
 */
describe("runner: git mirror", function () {
  this.timeout(60_000);
  const cleanups: Array<() => void> = [];
  after(() => cleanups.forEach((c) => c()));
  let tmp: string;
  let origin: string;
  let url: string;
  const commits: string[] = [];

  before(() => {
    tmp = makeTempDir("git-mirror", cleanups);
    const work = path.join(tmp, "work");
    fs.mkdirSync(work);
    g(work, "init", "-q", "-b", "main");
    for (let i = 0; i < 8; i++) {
      fs.writeFileSync(path.join(work, `f${i}.bin`), randomBytes(64 * 1024));
      g(work, "add", "-A");
      g(work, "commit", "-q", "-m", `c${i}`);
      commits.push(g(work, "rev-parse", "HEAD"));
    }
    origin = path.join(tmp, "origin.git");
    g(tmp, "clone", "-q", "--bare", work, origin);
    url = `file://${origin}`;
  });

  let n = 0;
  const options = (o: Partial<MirrorCheckoutOptions> & { commit: string }): MirrorCheckoutOptions & { lines: string[] } => {
    const lines: string[] = [];
    const home = path.join(tmp, `home-${++n}`);
    fs.mkdirSync(home);
    return { root: path.join(tmp, "mirrors"), applicationId: 1, url, extraHeader: null, depth: 0, dir: path.join(tmp, `job-${n}`, "repo"), home, say: async (l) => void lines.push(l), lines, ...o };
  };
  const count = (repo: string, commit: string) => Number(g(repo, "rev-list", "--count", commit));
  /** The job's repository holds the commit (its objects: a fetch or copied packs leave no ref to it). */
  const holds = (repo: string, commit: string) => assert.equal(g(repo, "rev-parse", "--verify", `${commit}^{commit}`), commit);

  it("keeps the whole history in the mirror; depth limits only the job's copy; a commit it has is not fetched again", async () => {
    const o = options({ commit: commits[3], depth: 2, ref: { type: "branch", name: "main" } });
    await checkoutFromMirror(o);
    holds(o.dir, commits[3]);
    assert.equal(count(o.dir, commits[3]), 2, "the job's copy is 2 deep");
    assert.ok(fs.existsSync(path.join(o.dir, ".git", "shallow")));
    const mirror = mirrorPath(o.root, 1, url);
    assert.equal(g(mirror, "rev-parse", "refs/heads/main"), commits[7], "the mirror has the branch");
    assert.equal(Number(g(mirror, "rev-list", "--count", "refs/heads/main")), 8, "…with its whole history");
    assert.ok(!fs.existsSync(path.join(mirror, "hooks")), "the mirror has no hooks directory");
    assert.doesNotMatch(fs.readFileSync(path.join(mirror, "config"), "utf8"), /url|extraheader/i, "no remote and no credentials are stored");

    const again = options({ commit: commits[5], depth: 0 });
    await checkoutFromMirror(again);
    assert.match(again.lines.join("\n"), /already in this runner's mirror of the repository: nothing to fetch/);
    assert.equal(count(again.dir, commits[5]), 6, "full depth: the whole history up to the commit");
  });

  it("never shares a mirror between two applications with the same repository", async () => {
    const a = options({ commit: commits[1], applicationId: 7 });
    const b = options({ commit: commits[1], applicationId: 8 });
    await checkoutFromMirror(a);
    await checkoutFromMirror(b);
    const [ma, mb] = [mirrorPath(a.root, 7, url), mirrorPath(b.root, 8, url)];
    assert.notEqual(ma, mb);
    assert.match(b.lines.join("\n"), /into this runner's mirror of the repository/, "the second application fetched for itself");
    assert.equal(g(ma, "config", "pipelines.application"), "7");
    assert.equal(g(mb, "config", "pipelines.application"), "8");
    // A mirror found under another application's name (a moved folder) is not trusted: it is made again.
    fs.rmSync(mb, { recursive: true });
    fs.cpSync(ma, mb, { recursive: true });
    const c = options({ commit: commits[2], applicationId: 8 });
    await checkoutFromMirror(c);
    assert.equal(g(mb, "config", "pipelines.application"), "8");
  });

  it("serialises concurrent checkouts of one repository: all succeed and the mirror stays sound", async () => {
    const root = path.join(tmp, "concurrent");
    const runs = [commits[7], commits[2], commits[6], commits[4]].map((commit) => options({ root, commit, applicationId: 3, ref: { type: "branch", name: "main" } }));
    await Promise.all(runs.map((o) => checkoutFromMirror(o)));
    for (const o of runs) holds(o.dir, o.commit);
    const mirror = mirrorPath(root, 3, url);
    g(mirror, "fsck", "--no-dangling");
    const fetched = runs.filter((o) => o.lines.some((l) => /into this runner's mirror of the repository/.test(l))).length;
    assert.equal(fetched, 1, "one fetched the branch; the others found their commit in the mirror");
  });

  it("removes what a killed fetch leaves (lock files, temporary packs) and goes on", async () => {
    const o = options({ commit: commits[1], applicationId: 4 });
    await checkoutFromMirror(o);
    const mirror = mirrorPath(o.root, 4, url);
    fs.mkdirSync(path.join(mirror, "refs", "heads"), { recursive: true });
    fs.writeFileSync(path.join(mirror, "refs", "heads", "main.lock"), "");
    fs.writeFileSync(path.join(mirror, "packed-refs.lock"), "");
    fs.writeFileSync(path.join(mirror, "objects", "pack", "tmp_pack_abc123"), randomBytes(1000));
    fs.mkdirSync(`${mirror}.new-deadbeef`);
    const next = options({ commit: commits[7], applicationId: 4, ref: { type: "branch", name: "main" } });
    await checkoutFromMirror(next);
    assert.equal(g(mirror, "rev-parse", "refs/heads/main"), commits[7]);
    assert.ok(!fs.existsSync(path.join(mirror, "packed-refs.lock")));
    assert.ok(!fs.existsSync(path.join(mirror, "objects", "pack", "tmp_pack_abc123")));
    assert.ok(!fs.existsSync(`${mirror}.new-deadbeef`), "a half-made new mirror is removed");
  });

  it("rebuilds a damaged mirror from scratch and the checkout goes on", async () => {
    const o = options({ commit: commits[7], applicationId: 5, ref: { type: "branch", name: "main" } });
    await checkoutFromMirror(o);
    const mirror = mirrorPath(o.root, 5, url);
    // Damage every object file in the middle (past a pack's header), as a bad disk or a half-written file would.
    const objects = path.join(mirror, "objects");
    const files = fs.readdirSync(objects, { recursive: true, encoding: "utf8" }).map((f) => path.join(objects, f)).filter((f) => fs.statSync(f).isFile() && !f.endsWith(".idx") && !/info/.test(f));
    assert.ok(files.length > 0);
    for (const file of files) {
      fs.chmodSync(file, 0o644);
      const size = fs.statSync(file).size;
      const fd = fs.openSync(file, "r+");
      fs.writeSync(fd, randomBytes(Math.min(4096, size - 20)), 0, Math.min(4096, size - 20), file.endsWith(".pack") ? 12 : 2);
      fs.closeSync(fd);
    }
    const next = options({ commit: commits[6], applicationId: 5 });
    await checkoutFromMirror(next);
    assert.match(next.lines.join("\n"), /the mirror of this repository on this runner is damaged \(git fsck: .+\); rebuilding it from scratch/);
    holds(next.dir, commits[6]);
    g(mirror, "fsck", "--no-dangling");

    // A mirror that is not a repository at all (a killed first `git init`) is made again without a word.
    fs.rmSync(path.join(mirror, "config"));
    const third = options({ commit: commits[0], applicationId: 5 });
    await checkoutFromMirror(third);
    holds(third.dir, commits[0]);
  });

  it("puts the packs of many incremental fetches together into one", async () => {
    const o = options({ commit: commits[7], applicationId: 10, ref: { type: "branch", name: "main" } });
    await checkoutFromMirror(o);
    const mirror = mirrorPath(o.root, 10, url);
    const objects = g(mirror, "rev-list", "--objects", "--all").split("\n").map((l) => l.split(" ")[0]);
    // Packs of one and of two objects: distinct contents, distinct packs (as many small fetches leave).
    const sets = [...objects.map((x) => [x]), ...objects.map((x, i) => [x, objects[(i + 1) % objects.length]])];
    for (const set of sets) {
      execFileSync("git", [`--git-dir=${mirror}`, "pack-objects", "-q", path.join(mirror, "objects", "pack", "pack")], { input: `${set.join("\n")}\n`, env: gitEnv, stdio: ["pipe", "ignore", "ignore"] });
    }
    const packs = () => fs.readdirSync(path.join(mirror, "objects", "pack")).filter((n) => n.endsWith(".pack")).length;
    assert.ok(packs() > 30, `${packs()} packs`);
    const work = path.join(tmp, "work");
    fs.writeFileSync(path.join(work, "new.txt"), "new\n");
    g(work, "add", "-A");
    g(work, "commit", "-q", "-m", "new");
    const newer = g(work, "rev-parse", "HEAD");
    g(work, "push", "-q", origin, "HEAD:main");
    await checkoutFromMirror(options({ commit: newer, applicationId: 10, ref: { type: "branch", name: "main" } }));
    assert.equal(packs(), 1);
    g(mirror, "fsck", "--no-dangling");
  });

  it("says what the server said when the fetch fails, and keeps a sound mirror", async () => {
    const o = options({ commit: "0123456789abcdef0123456789abcdef01234567", applicationId: 6, ref: { type: "branch", name: "gone" } });
    await assert.rejects(checkoutFromMirror(o), /git fetch failed: .*(couldn't find remote ref|not our ref|upload-pack)/s);
    assert.ok(!o.lines.some((l) => /damaged/.test(l)), "a server's refusal is not taken for damage");
  });
});
