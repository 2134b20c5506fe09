import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createWorkspace, removeWorkspace } from "../../src/runner/workspace";
import { makeTempDir } from "./helpers";

describe("workspace", () => {
  const cleanups: Array<() => void> = [];
  after(() => cleanups.forEach((c) => c()));

  it("creates a fresh private directory under the root each time (mode 0700), creating the root if needed", async () => {
    const root = join(makeTempDir("ws-root", cleanups), "nested", "root");
    const a = await createWorkspace(root);
    const b = await createWorkspace(root);
    assert.notEqual(a, b);
    for (const dir of [a, b]) {
      assert.equal(dirname(dir), root);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
    }
  });

  it("removes a workspace the build made read-only, without following symlinks out of it", async () => {
    const outside = makeTempDir("ws-outside", cleanups);
    writeFileSync(join(outside, "keep.txt"), "keep");
    chmodSync(outside, 0o755);
    const dir = await createWorkspace(makeTempDir("ws-root", cleanups));
    mkdirSync(join(dir, "cache/pkg/mod"), { recursive: true });
    writeFileSync(join(dir, "cache/pkg/mod/file.go"), "package x");
    chmodSync(join(dir, "cache/pkg/mod/file.go"), 0o444);
    chmodSync(join(dir, "cache/pkg/mod"), 0o555);
    chmodSync(join(dir, "cache/pkg"), 0o000);
    symlinkSync(outside, join(dir, "link"));

    await removeWorkspace(dir);
    assert.ok(!existsSync(dir));
    assert.equal(readFileSync(join(outside, "keep.txt"), "utf8"), "keep");
    assert.equal(statSync(outside).mode & 0o777, 0o755);
    await removeWorkspace(dir); // already gone: not an error
  });

  it("refuses to remove a relative path or the filesystem root", async () => {
    await assert.rejects(removeWorkspace("relative/dir"), /refusing/);
    await assert.rejects(removeWorkspace("/"), /refusing/);
  });
});
