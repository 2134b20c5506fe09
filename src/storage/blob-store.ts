import type { Readable } from "node:stream";

/**
 * Where artifacts and caches live on the server: named blobs (each a tar.gz stream), written and read as streams,
 * never held whole in memory. Small on purpose, so that an S3-compatible store can replace the filesystem one.
 * Keys are chosen by the service (never by a step or a runner): lowercase letters, digits, `-`, `_`, `.` and `/`.
 */
export interface BlobStore {
  /**
   * Stores `body` under `key` (replacing what was there) and resolves with its size. Past `maxBytes` it stops
   * reading, removes what it wrote and rejects with BlobTooLargeError; a failing `body` leaves nothing either.
   */
  put(key: string, body: Readable, maxBytes: number): Promise<{ size: number }>;
  /** The blob's bytes, or null when there is no such blob. */
  get(key: string): Promise<Readable | null>;
  /** Its size, or null when there is none. */
  stat(key: string): Promise<{ size: number } | null>;
  /** Removes it; removing a blob that is not there is not an error. */
  delete(key: string): Promise<void>;
}

/** A blob went past the size it may have; nothing of it was kept. */
export class BlobTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`more than ${maxBytes} bytes`);
    this.name = "BlobTooLargeError";
  }
}

const KEY = /^[a-z0-9][a-z0-9_.-]*(\/[a-z0-9][a-z0-9_.-]*)*$/;

/** Throws unless `key` is a key the service makes (no `..`, no leading `/`, nothing but the allowed characters). */
export function checkKey(key: string): string {
  if (!KEY.test(key) || key.length > 400 || key.split("/").some((part) => part === "." || part === "..")) throw new Error(`"${key}" is not a blob key`);
  return key;
}
