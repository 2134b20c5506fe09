import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { eventually, installWorld } from "../support/build-world";
import { startTestServer, type TestServer } from "../support/test-server";
import { createRunnerToken, isGone, spawnRunner, type Child } from "../runner-api/support";
import { processesMatching } from "../support/processes";

const LEASE_MS = 3000;

/** A step that never ends by itself; the test finds its processes from the outside by their arguments. */
const hangingPipeline = (marker: string) => `pipelines:
  default:
    - step:
        name: Hang
        script:
          - sleep 300.${marker}1 &
          - sleep 300.${marker}2
`;

/**
 * kill -9 of a remote runner in the middle of a step: the step's processes die with it (bubblewrap's
 * --die-with-parent: nothing of a step outlives its runner), the lease expires, the build is retried (then failed,
 * the second time), its status is posted, and the next runner started with the same --state-dir removes what the
 * dead one left (its job's mounted filesystem, network namespaces, cgroups) before it claims anything.
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
    // A failed run may have left a killed runner's workspaces mounted.
    if (tmp) for (const point of mountsUnder(tmp).reverse()) spawnSync("umount", ["-l", point]);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const marker = String(process.pid % 10000);
  /** The pids of the step's two sleeps, once they run. */
  const stepPids = (what: string) =>
    eventually(`${what} to start`, async () => {
      const found = [...processesMatching(`sleep 300.${marker}1`), ...processesMatching(`sleep 300.${marker}2`)];
      return found.length === 2 ? found : undefined;
    }, 20_000);

  it("the build is retried within the lease, then failed with its status posted, and no process of the step is left", async () => {
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
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": hangingPipeline(marker) }, message: "hang" });
    const run1 = await stepPids("the first run").catch((err: Error) => {
      throw new Error(`${err.message}\nrunner output:\n${first.output()}`);
    });

    // 1. kill -9 of the runner: the step's processes go with it.
    first.proc.kill("SIGKILL");
    await first.exited;
    const killedAt = Date.now();
    await eventually("the first run's processes to die with their runner", async () => run1.every(isGone), 5000);

    // 2. The lease expires and the reaper queues the build again, within the lease (plus one reaper pass).
    const retried = await eventually("the build to be queued again", async () => {
      const b = await buildOf();
      return b && b.retries === 1 && b.state === "QUEUED" ? b : undefined;
    }, LEASE_MS + 5000);
    assert.ok(Date.now() - killedAt <= LEASE_MS + 2000, `retried ${Date.now() - killedAt} ms after the kill`);
    assert.match(retried.stateReason ?? "", /crashy\/box-1 stopped responding; started again/);

    // 3. A new runner on the same state directory removes what the dead one left before it claims anything.
    const second = runner(2);
    await eventually("the runner to say what it removed", async () => /removed what a previous runner left/.test(second.output()), 10_000).catch((err: Error) => {
      throw new Error(`${err.message}\nrunner output:\n${second.output()}`);
    });
    assert.equal(mountsUnder(workDir).length <= 1, true, "at most the new runner's own prepared workspace is mounted");

    // 4. It runs the retried build; kill -9 again mid-step: this time the build fails, and Bitbucket is told.
    const run2 = await stepPids("the second run");
    second.proc.kill("SIGKILL");
    await second.exited;
    await eventually("the second run's processes to die with their runner", async () => run2.every(isGone), 5000);
    const failed = await eventually("the build to fail", async () => {
      const b = await buildOf();
      return b?.state === "FAILED" ? b : undefined;
    }, LEASE_MS + 5000);
    assert.match(failed.stateReason ?? "", /crashy\/box-2 stopped responding \(its lease expired\) again after a retry/);
    const status = await eventually("the FAILED status in Bitbucket", async () => bb.statuses(w.workspace, w.slug, commit.hash).find((s) => s.state === "FAILED"));
    assert.match(status.description ?? "", /stopped responding/);
    const steps = await server.storage.models.Step.findAll({ where: { buildId: failed.id } });
    assert.deepEqual(steps.map((s) => s.state), ["FAILED"]);

    // 5. The next runner cleans up after the second one and does not run the failed build a third time.
    const third = runner(3);
    await eventually("the runner to say what it removed", async () => /removed what a previous runner left/.test(third.output()), 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(third.output(), /running a job/, "the failed build was not run a third time");
    third.proc.kill("SIGTERM");
    assert.equal((await third.exited).code, 0, third.output());
    assert.deepEqual(mountsUnder(workDir), [], "a runner that stops leaves nothing mounted");
  });
});

/** Mount points below `dir`. */
function mountsUnder(dir: string): string[] {
  return fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4]).filter((p): p is string => typeof p === "string" && p.startsWith(`${dir}/`));
}
