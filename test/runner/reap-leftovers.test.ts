import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readPidFile, writePidFile } from "../../src/runner/pid-file";
import { killLeftoverGroups } from "../../src/runner/reap-leftovers";
import { isGone, makeTempDir, waitFor } from "./helpers";

/** A process group like a step's, whose runner "crashed": nobody waits for it any more. */
async function startOrphanGroup(): Promise<{ leader: number; child: number }> {
  const proc = spawn("/bin/bash", ["-c", "sleep 1000 & echo $!; exec sleep 1000"], { detached: true, stdio: ["ignore", "pipe", "ignore"] });
  const child = await new Promise<number>((resolve) => proc.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
  proc.stdout.destroy();
  proc.unref();
  return { leader: proc.pid as number, child };
}

describe("killLeftoverGroups", function () {
  this.timeout(10_000);
  const cleanups: Array<() => void> = [];
  after(() => cleanups.forEach((c) => c()));

  it("kills a process group whose pid file was left behind, background children included, and removes the file", async () => {
    const stateDir = makeTempDir("reap-state", cleanups);
    const { leader, child } = await startOrphanGroup();
    writePidFile(join(stateDir, "step-7.pid"), leader);
    assert.ok(!isGone(leader) && !isGone(child));

    const report = await killLeftoverGroups(stateDir, 500);
    assert.deepEqual(report, { killed: [leader], stale: [] });
    await waitFor(() => isGone(leader) && isGone(child), 3000, "the leftover group to be gone");
    assert.deepEqual(readdirSync(stateDir), []);
  });

  it("kills what is left of a group whose leader has already exited", async () => {
    const stateDir = makeTempDir("reap-state", cleanups);
    const { leader, child } = await startOrphanGroup();
    writePidFile(join(stateDir, "step-8.pid"), leader);
    process.kill(leader, "SIGKILL");
    await waitFor(() => isGone(leader), 3000, "the leader to exit");
    assert.ok(!isGone(child));

    const report = await killLeftoverGroups(stateDir, 500);
    assert.deepEqual(report.killed, [leader]);
    await waitFor(() => isGone(child), 3000, "the orphaned child to be gone");
  });

  it("leaves alone a recycled pid (start time differs) or one from another boot, and only removes the file", async () => {
    const stateDir = makeTempDir("reap-state", cleanups);
    const { leader, child } = await startOrphanGroup();
    cleanups.push(() => process.kill(-leader, "SIGKILL"));
    const file = join(stateDir, "recycled.pid");
    writePidFile(file, leader);
    const record = await readPidFile(file);
    assert.ok(record?.startTime);
    writeFileSync(file, JSON.stringify({ ...record, startTime: record.startTime - 1 }));
    const otherBoot = join(stateDir, "other-boot.pid");
    writeFileSync(otherBoot, JSON.stringify({ ...record, bootId: "00000000-0000-0000-0000-000000000000" }));
    const garbage = join(stateDir, "garbage.pid");
    writeFileSync(garbage, "not json");
    writeFileSync(join(stateDir, "notes.txt"), "not a pid file");

    const report = await killLeftoverGroups(stateDir, 500);
    assert.deepEqual(report.killed, []);
    assert.deepEqual([...report.stale].sort(), [file, garbage, otherBoot].sort());
    assert.ok(!isGone(leader) && !isGone(child), "the processes were not touched");
    assert.ok(!existsSync(file) && !existsSync(otherBoot) && !existsSync(garbage));
    assert.ok(existsSync(join(stateDir, "notes.txt")));
  });

  it("does nothing when the state directory does not exist", async () => {
    assert.deepEqual(await killLeftoverGroups("/nonexistent/pipelines-state"), { killed: [], stale: [] });
  });
});
