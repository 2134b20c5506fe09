import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BlobTooLargeError, checkKey, type BlobStore } from "./blob-store";

/** An incoming file untouched this long was left by a crash. */
const STALE_INCOMING_MS = 24 * 3600_000;

/**
 * BlobStore on a directory of the server's (PIPELINES_STORAGE_DIR, by default `<data dir>/storage`): one file per
 * key. A blob is written to `.incoming/` first and renamed into place once whole, so a reader never sees half of
 * one and a crash leaves only an incoming file (removed by a later start). Several web processes may share it.
 */
export class FsBlobStore implements BlobStore {
  private readonly incoming: string;

  constructor(private readonly root: string) {
    this.incoming = join(root, ".incoming");
  }

  /**
   * Makes the directories and removes incoming files a crash left. Another web process may share the directory and
   * be writing one right now: only files untouched for a day (no upload takes that long) are removed.
   */
  async open(): Promise<this> {
    await mkdir(this.incoming, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.incoming)) {
      const path = join(this.incoming, name);
      const info = await stat(path).catch(() => null);
      if (info && Date.now() - info.mtimeMs > STALE_INCOMING_MS) await rm(path, { force: true });
    }
    return this;
  }

  async put(key: string, body: Readable, maxBytes: number): Promise<{ size: number }> {
    const path = this.path(key);
    const tmp = join(this.incoming, `${randomBytes(12).toString("hex")}.part`);
    // The body may fail before the pipeline below takes it (the sender went away): the pipeline then reports it.
    const early = () => undefined;
    body.on("error", early);
    await mkdir(this.incoming, { recursive: true, mode: 0o700 });
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > maxBytes) done(new BlobTooLargeError(maxBytes));
        else done(null, chunk);
      },
    });
    try {
      await pipeline(body, counter, createWriteStream(tmp, { mode: 0o600 }));
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await rename(tmp, path);
    } catch (err) {
      body.destroy();
      await rm(tmp, { force: true });
      throw err;
    } finally {
      body.off("error", early);
    }
    return { size };
  }

  async get(key: string): Promise<Readable | null> {
    const path = this.path(key);
    if (!(await this.stat(key))) return null;
    return createReadStream(path);
  }

  async stat(key: string): Promise<{ size: number } | null> {
    const info = await stat(this.path(key)).catch(() => null);
    return info?.isFile() ? { size: info.size } : null;
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  private path(key: string): string {
    return join(this.root, checkKey(key));
  }
}
