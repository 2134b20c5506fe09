import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { eventually, installWorld, stepLog } from "../support/build-world";
import { startTestServer, type TestServer } from "../support/test-server";
import { createRunnerToken, isGone, spawnRunner, type Child } from "../runner-api/support";
import { processesMatching } from "../support/processes";

const LEASE_MS = 3000;

/** Files below `dir` whose name starts with `prefix` (a fetch's temporary pack). */
function filesStartingWith(dir: string, prefix: string): string[] {
  try {
    return fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => path.basename(f).startsWith(prefix));
  } catch {
    return [];
  }
}

/**
 * kill -9 of a remote runner while its mirror fetches a large history: the mirror's git dies with the runner (no
 * orphan goes on writing it), the lock dies with it, and the next runner on the same state directory finds the half
 * fetched mirror, repairs it and runs the retried build from it.
 */
describe("crash: kill -9 of a runner in the middle of a mirror fetch", function () {
  this.timeout(90_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let tmp: string;
  const children: Child[] = [];

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer({ PIPELINES_IN_PROCESS_RUNNER: "false" }, { leaseMs: LEASE_MS });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mirror-kill-"));
  });
  after(async () => {
    await Promise.all(children.map((c) => c.dispose()));
    await server?.stop();
    await bb?.stop();
    if (tmp) {
      const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4]).filter((p) => p?.startsWith(`${tmp}/`));
      for (const point of mounts.reverse()) spawnSync("umount", ["-l", point]);
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("the next runner repairs the mirror and the retried build succeeds from it", async () => {
    const token = await createRunnerToken(server.env, "mirrorkill");
    const stateDir = path.join(tmp, "state");
    const workDir = path.join(tmp, "work");
    const mirrors = path.join(stateDir, "mirrors");
    const runner = (n: number) => {
      const child = spawnRunner({ server: server.url, token, name: `box-${n}`, stateDir, workDir, env: { PIPELINES_STEP_DISK: "512MiB" } });
      children.push(child);
      return child;
    };
    const w = await installWorld(bb, server, "mirrorkill");
    const first = runner(1);
    const pipeline = "pipelines:\n  default:\n    - step:\n        name: Read\n        script:\n          - wc -c < big.txt\n          - cat marker.txt\n";
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, {
      files: { "bitbucket-pipelines.yml": pipeline, "big.txt": randomBytes(30 * 1024 * 1024).toString("base64"), "marker.txt": "after-the-crash\n" },
      message: "large history",
    });

    // 1. Kill the runner once its mirror's fetch is receiving the pack (or at least running).
    const fetchMarker = `--git-dir=${mirrors}`;
    const fetchers = await eventually("the mirror's git fetch to run", async () => {
      const found = processesMatching(fetchMarker).filter((pid) => {
        try {
          return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("fetch");
        } catch {
          return false;
        }
      });
      return found.length ? found : undefined;
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\nrunner output:\n${first.output()}`);
    });
    await eventually("the pack to arrive", async () => filesStartingWith(mirrors, "tmp_").length > 0, 15_000).catch(() => undefined);
    const midPack = filesStartingWith(mirrors, "tmp_").length > 0;
    first.proc.kill("SIGKILL");
    await first.exited;
    await eventually("the mirror's git to die with its runner", async () => fetchers.every(isGone), 5000);
    const mirrorDir = path.join(mirrors, `app-${w.applicationId}`);
    const [name] = fs.readdirSync(mirrorDir).filter((n) => n.endsWith(".git"));
    const mirror = path.join(mirrorDir, name);
    assert.throws(() => execFileSync("git", [`--git-dir=${mirror}`, "cat-file", "-e", `${commit.hash}^{commit}`], { stdio: "ignore" }), "the killed fetch did not finish");

    // 2. The lease expires, the build is queued again; a new runner on the same state directory runs it.
    await eventually("the build to be queued again", async () => {
      const b = await server.storage.models.Build.findOne({ where: { applicationId: w.applicationId } });
      return b?.retries === 1 && b.state === "QUEUED";
    }, LEASE_MS + 8000);
    const second = runner(2);
    const build = await eventually("the retried build to end", async () => {
      const b = await server.storage.models.Build.findOne({ where: { applicationId: w.applicationId } });
      return b && ["SUCCESSFUL", "FAILED"].includes(b.state) ? b : undefined;
    }, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\nrunner output:\n${second.output()}`);
    });
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "SUCCESSFUL", `${log}\nrunner output:\n${second.output()}`);
    assert.match(log, /^after-the-crash$/m);
    assert.match(log, new RegExp(`^${4 * Math.ceil((30 * 1024 * 1024) / 3)}$`, "m"), "the whole file was checked out");
    execFileSync("git", [`--git-dir=${mirror}`, "fsck", "--no-dangling"], { stdio: "ignore" });
    assert.deepEqual(filesStartingWith(mirrors, "tmp_"), [], "the half-written pack was removed");
    assert.equal(execFileSync("git", [`--git-dir=${mirror}`, "rev-parse", "refs/heads/main"], { encoding: "utf8" }).trim(), commit.hash);
    console.log(`      (killed ${midPack ? "while the pack was being written" : "while the fetch ran, before its pack arrived"})`);
    second.proc.kill("SIGTERM");
    await second.exited;
  });
});
