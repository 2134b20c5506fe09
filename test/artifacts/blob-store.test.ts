import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { BlobTooLargeError } from "../../src/storage/blob-store";
import { FsBlobStore } from "../../src/storage/fs-blob-store";

const text = async (r: Readable | null) => {
  const chunks: Buffer[] = [];
  for await (const c of r ?? []) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
};

/** Pieces of `size` bytes in all, produced one at a time (never whole in memory). */
function pieces(size: number, piece = 8192): Readable {
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return this.push(null);
      const n = Math.min(piece, left);
      left -= n;
      this.push(Buffer.alloc(n, 1));
    },
  });
}

describe("the filesystem blob store", () => {
  let dir: string;
  let store: FsBlobStore;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "blobs-"));
    store = await new FsBlobStore(dir).open();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("puts, stats, gets, replaces and deletes streams", async () => {
    assert.deepEqual(await store.put("artifacts/1/2/a.tar.gz", Readable.from([Buffer.from("one "), Buffer.from("two")]), 100), { size: 7 });
    assert.deepEqual(await store.stat("artifacts/1/2/a.tar.gz"), { size: 7 });
    assert.equal(await text(await store.get("artifacts/1/2/a.tar.gz")), "one two");
    await store.put("artifacts/1/2/a.tar.gz", Readable.from([Buffer.from("three")]), 100);
    assert.equal(await text(await store.get("artifacts/1/2/a.tar.gz")), "three");
    await store.delete("artifacts/1/2/a.tar.gz");
    await store.delete("artifacts/1/2/a.tar.gz");
    assert.equal(await store.get("artifacts/1/2/a.tar.gz"), null);
    assert.equal(await store.stat("artifacts/1/2/a.tar.gz"), null);
  });

  it("past its cap a put stops, keeps nothing and says so; a failing body keeps nothing either", async () => {
    await assert.rejects(store.put("caches/1/big.tar.gz", pieces(10 * 1024 * 1024), 64 * 1024), BlobTooLargeError);
    assert.equal(await store.stat("caches/1/big.tar.gz"), null);
    const failing = new Readable({ read() {} });
    const put = store.put("caches/1/broken.tar.gz", failing, 1024);
    failing.push(Buffer.from("half"));
    failing.destroy(new Error("the runner went away"));
    await assert.rejects(put, /the runner went away/);
    assert.equal(await store.stat("caches/1/broken.tar.gz"), null);
    assert.deepEqual(fs.readdirSync(path.join(dir, ".incoming")), []);
  });

  it("refuses keys that could leave its directory", async () => {
    for (const key of ["../x", "/etc/passwd", "a/../../b", "a//b", "A/b", "a/./b", ""]) {
      await assert.rejects(store.put(key, Readable.from([Buffer.from("x")]), 10), /is not a blob key/, key);
      await assert.rejects(store.get(key), /is not a blob key/, key);
    }
    assert.deepEqual(fs.readdirSync(dir), [".incoming"]);
  });

  it("at start removes only incoming files a crash left long ago (another process may be writing the rest)", async () => {
    const incoming = path.join(dir, ".incoming");
    fs.writeFileSync(path.join(incoming, "old.part"), "x");
    fs.writeFileSync(path.join(incoming, "fresh.part"), "x");
    const old = new Date(Date.now() - 2 * 86_400_000);
    fs.utimesSync(path.join(incoming, "old.part"), old, old);
    await new FsBlobStore(dir).open();
    assert.deepEqual(fs.readdirSync(incoming), ["fresh.part"]);
  });
});
