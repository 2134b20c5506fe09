import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { lockFile } from "../../src/runner/file-lock";
import { makeTempDir, waitFor } from "./helpers";

/** Whether another process can take `file`'s lock right now (flock -n: fail at once when held). */
const freeFor = (file: string, mode: "-s" | "-x") => spawnSync("flock", ["-n", mode, file, "true"]).status === 0;

describe("runner: file lock (flock)", function () {
  this.timeout(20_000);
  const cleanups: Array<() => void> = [];
  after(() => cleanups.forEach((c) => c()));

  it("excludes other processes while held, shares with readers, and is free once released", async () => {
    const file = path.join(makeTempDir("file-lock", cleanups), "m.lock");
    const unlock = await lockFile(file, "exclusive");
    assert.equal(freeFor(file, "-x"), false);
    assert.equal(freeFor(file, "-s"), false);
    await unlock();
    await unlock(); // idempotent
    assert.equal(freeFor(file, "-x"), true);
    const a = await lockFile(file, "shared");
    const b = await lockFile(file, "shared");
    assert.equal(freeFor(file, "-s"), true);
    assert.equal(freeFor(file, "-x"), false);
    await a();
    await b();
  });

  it("the second of two exclusive lockers in one process waits for the first", async () => {
    const file = path.join(makeTempDir("file-lock", cleanups), "m.lock");
    const order: string[] = [];
    const first = await lockFile(file, "exclusive");
    const second = lockFile(file, "exclusive").then((unlock) => {
      order.push("second");
      return unlock;
    });
    await new Promise((r) => setTimeout(r, 300));
    order.push("first releases");
    await first();
    await (await second)();
    assert.deepEqual(order, ["first releases", "second"]);
  });

  it("is released when its holder is killed with SIGKILL, and a waiter can be stopped", async () => {
    const file = path.join(makeTempDir("file-lock", cleanups), "m.lock");
    // A process holding the lock through lockFile, killed -9 (as a runner would be).
    const holder = spawn(process.execPath, ["--import", "tsx", "-e", `require(${JSON.stringify(path.resolve("src/runner/file-lock.ts"))}).lockFile(${JSON.stringify(file)}, "exclusive").then(() => console.log("held"))`], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    holder.stdout.on("data", (b: Buffer) => (out += b.toString()));
    await waitFor(() => out.includes("held"), 10_000, "the holder to take the lock");
    assert.equal(freeFor(file, "-x"), false);
    const controller = new AbortController();
    const waiting = lockFile(file, "exclusive", controller.signal);
    controller.abort();
    await assert.rejects(waiting, /stopped while waiting for a lock/);
    holder.kill("SIGKILL");
    await waitFor(() => freeFor(file, "-x"), 5000, "the lock to be released");
  });
});
