import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BlobTooLargeError, checkKey, type BlobStore } from "./blob-store";

/**
 * BlobStore on a directory of the server's (PIPELINES_STORAGE_DIR, by default `<data dir>/storage`): one file per
 * key. A blob is written to `.incoming/` first and renamed into place once whole, so a reader never sees half of
 * one and a crash leaves only an incoming file (removed at the next start).
 */
export class FsBlobStore implements BlobStore {
  private readonly incoming: string;

  constructor(private readonly root: string) {
    this.incoming = join(root, ".incoming");
  }

  /** Makes the directories and removes incoming files a crash left. */
  async open(): Promise<this> {
    await rm(this.incoming, { recursive: true, force: true });
    await mkdir(this.incoming, { recursive: true, mode: 0o700 });
    return this;
  }

  async put(key: string, body: Readable, maxBytes: number): Promise<{ size: number }> {
    const path = this.path(key);
    const tmp = join(this.incoming, `${randomBytes(12).toString("hex")}.part`);
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
