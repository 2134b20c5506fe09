import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { eventually, installWorld } from "../support/build-world";
import { startTestServer, type TestServer } from "../support/test-server";
import { createRunnerToken, isGone, spawnRunner, type Child } from "../runner-api/support";

const LEASE_MS = 3000;

/**
 * A step that never ends by itself, run N writes N to `runs`, and the pids of its shell (the group leader) and of a
 * background child to `shell-N.pid` / `bg-N.pid`, so the test can watch them.
 */
const hangingPipeline = (dir: string) => `pipelines:
  default:
    - step:
        name: Hang
        script:
          - n=$(( $(cat ${dir}/runs 2>/dev/null || echo 0) + 1 )); echo $n > ${dir}/runs
          - sleep 300 & echo $! > ${dir}/bg-$n.pid
          - echo $$ > ${dir}/shell-$n.pid
          - sleep 300
`;

/**
 * kill -9 of a remote runner in the middle of a step: the lease expires, the build is retried (then failed, the
 * second time), its status is posted, and the step's processes — which outlive the runner, being in their own
 * process group — are stopped by the next runner started with the same --state-dir.
 */
describe("crash: kill -9 of a runner in the middle of a step", function () {
  this.timeout(45_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let tmp: string;
  const children: Child[] = [];
  const pids: number[] = [];

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer({ PIPELINES_IN_PROCESS_RUNNER: "false" }, { leaseMs: LEASE_MS });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "runner-kill-"));
  });
  after(async () => {
    await Promise.all(children.map((c) => c.dispose()));
    for (const pid of pids) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await server?.stop();
    await bb?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The pids of run `n`'s shell and background sleep, once the step has written them. */
  const stepPids = (n: number) =>
    eventually(`run ${n} of the step to start`, async () => {
      const read = (f: string) => {
        const text = fs.existsSync(path.join(tmp, "marks", f)) ? fs.readFileSync(path.join(tmp, "marks", f), "utf8").trim() : "";
        return /^\d+$/.test(text) ? Number(text) : null;
      };
      const shell = read(`shell-${n}.pid`);
      const bg = read(`bg-${n}.pid`);
      return shell && bg ? [shell, bg] : undefined;
    }, 20_000);

  /** Dead processes stay zombies until PID 1 reaps them (lazily, here): wait until `kill(pid, 0)` says ESRCH. */
  const reaped = (list: number[]) =>
    eventually(`pids ${list.join(", ")} to be reaped`, async () => list.every((pid) => {
      try {
        process.kill(pid, 0);
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === "ESRCH";
      }
    }), 10_000);

  it("the build is retried within the lease, then failed with its status posted, and no process of the step is left", async () => {
    const marks = path.join(tmp, "marks");
    fs.mkdirSync(marks);
    const token = await createRunnerToken(server.env, "crashy");
    const stateDir = path.join(tmp, "state");
    const workDir = path.join(tmp, "work");
    const runner = (n: number) => {
      const child = spawnRunner({ server: server.url, token, name: `box-${n}`, stateDir, workDir });
      children.push(child);
      return child;
    };
    const w = await installWorld(bb, server);
    const buildOf = async () => server.storage.models.Build.findOne({ where: { applicationId: w.applicationId } });

    const first = runner(1);
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": hangingPipeline(marks) }, message: "hang" });
    const run1 = await stepPids(1).catch((err: Error) => {
      throw new Error(`${err.message}\nrunner output:\n${first.output()}`);
    });
    pids.push(run1[0]);

    // 1. kill -9 of the runner: the step's group outlives it.
    first.proc.kill("SIGKILL");
    await first.exited;
    const killedAt = Date.now();
    assert.ok(run1.every((pid) => !isGone(pid)), "the step's processes outlived the runner (their own process group)");

    // 2. The lease expires and the reaper queues the build again, within the lease (plus one reaper pass).
    const retried = await eventually("the build to be queued again", async () => {
      const b = await buildOf();
      return b && b.retries === 1 && b.state === "QUEUED" ? b : undefined;
    }, LEASE_MS + 5000);
    assert.ok(Date.now() - killedAt <= LEASE_MS + 2000, `retried ${Date.now() - killedAt} ms after the kill`);
    assert.match(retried.stateReason ?? "", /crashy\/box-1 stopped responding; started again/);

    // 3. A new runner on the same state directory stops the leftover group before it claims anything.
    const second = runner(2);
    await eventually("the first run's processes to be gone", async () => run1.every(isGone), 10_000).catch((err: Error) => {
      throw new Error(`${err.message}\nrunner output:\n${second.output()}`);
    });
    await eventually("the runner to say what it stopped", async () => /stopped steps a previous runner left running/.test(second.output()));
    await reaped(run1);

    // 4. It runs the retried build; kill -9 again mid-step: this time the build fails, and Bitbucket is told.
    const run2 = await stepPids(2);
    pids.push(run2[0]);
    second.proc.kill("SIGKILL");
    await second.exited;
    const failed = await eventually("the build to fail", async () => {
      const b = await buildOf();
      return b?.state === "FAILED" ? b : undefined;
    }, LEASE_MS + 5000);
    assert.match(failed.stateReason ?? "", /crashy\/box-2 stopped responding \(its lease expired\) again after a retry/);
    const status = await eventually("the FAILED status in Bitbucket", async () => bb.statuses(w.workspace, w.slug, commit.hash).find((s) => s.state === "FAILED"));
    assert.match(status.description ?? "", /stopped responding/);
    const steps = await server.storage.models.Step.findAll({ where: { buildId: failed.id } });
    assert.deepEqual(steps.map((s) => s.state), ["FAILED"]);

    // 5. And the next runner stops what the second one left.
    const third = runner(3);
    await eventually("the second run's processes to be gone", async () => run2.every(isGone), 10_000).catch((err: Error) => {
      throw new Error(`${err.message}\nrunner output:\n${third.output()}`);
    });
    await reaped(run2);
    assert.equal(fs.readFileSync(path.join(marks, "runs"), "utf8").trim(), "2", "the failed build was not run a third time");
    third.proc.kill("SIGTERM");
    assert.equal((await third.exited).code, 0, third.output());
  });
});
