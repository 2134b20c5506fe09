export interface LogSinkOptions {
  /** Bytes of output stored at most; the rest is counted and dropped. Default 8 MiB. */
  capBytes?: number;
  /** Receives the log in order, as consecutive chunks: `offset` is the byte offset of `data` in the whole log. */
  onChunk(offset: number, data: Buffer): Promise<void> | void;
  /** A partly filled chunk is delivered this long after its first byte arrived. Default 250 ms. */
  flushIntervalMs?: number;
  /** Largest chunk handed to `onChunk`. Default 256 KiB: a full 8 MiB log is 32 writes to the database. */
  maxChunkBytes?: number;
}

export interface LogSink {
  /**
   * Adds text to the log. The promise settles once the text is buffered; when a chunk fills up it waits for
   * `onChunk` to deliver it, so a caller that awaits each write never makes the sink hold more than one chunk.
   * Rejects if `onChunk` failed (then every later call rejects with the same error).
   */
  write(text: string): Promise<void>;
  /** True once the cap is reached: everything written from now on is only counted. */
  discarding(): boolean;
  /** Counts bytes dropped without being written (output read after the cap). */
  discard(bytes: number): void;
  /** Delivers what is buffered and ends the log. Idempotent. */
  close(): Promise<void>;
  /** Bytes handed to `onChunk` or buffered for it, the truncation notice included (= the next chunk's offset). */
  readonly storedBytes: number;
  /** Bytes written after the cap was reached, which were not stored. */
  readonly droppedBytes: number;
  readonly truncated: boolean;
}

const MiB = 1024 * 1024;

/**
 * Collects a step's output into chunks addressed by byte offset. Writes are batched until a chunk is full or
 * `flushIntervalMs` passed; chunks are delivered one at a time, in order, with contiguous offsets, and never
 * cut a UTF-8 character in two (so each chunk decodes on its own). Past `capBytes` one notice line is appended
 * and the rest is dropped, still counted in `droppedBytes`.
 */
export function createLogSink(options: LogSinkOptions): LogSink {
  const capBytes = options.capBytes ?? 8 * MiB;
  const flushIntervalMs = options.flushIntervalMs ?? 250;
  const maxChunkBytes = options.maxChunkBytes ?? 256 * 1024;
  if (!(capBytes >= 0) || !(maxChunkBytes >= 4) || !(flushIntervalMs >= 0)) {
    throw new RangeError("createLogSink: capBytes must be >= 0, maxChunkBytes >= 4 and flushIntervalMs >= 0");
  }
  const notice = Buffer.from(
    `\n[pipelines] log truncated: this step printed more than ${formatBytes(capBytes)}; the rest is not stored\n`,
  );

  let current: Buffer | null = null; // the chunk being filled, allocated only when needed
  let fill = 0;
  let carry: Buffer = Buffer.alloc(0); // ≤ 3 bytes of a character cut at a chunk boundary
  let nextOffset = 0;
  let accepted = 0; // bytes of output kept, without the notice
  let dropped = 0;
  let truncated = false;
  let closing: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let failure: { error: unknown } | null = null;
  let tail: Promise<void> = Promise.resolve();

  /** Runs tasks one after another, so chunks leave in order and writes wait for deliveries. */
  const enqueue = (task: () => Promise<void> | void): Promise<void> => {
    const run = tail.then(() => {
      if (failure) throw failure.error;
      return task();
    });
    tail = run.catch((error: unknown) => {
      failure ??= { error };
    });
    return run;
  };

  const deliver = async (all: boolean): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (!current || fill === 0) return;
    const end = all ? fill : completeUtf8Length(current, fill);
    if (end === 0) return;
    const chunk = current.subarray(0, end);
    carry = Buffer.from(current.subarray(end, fill));
    current = null;
    fill = 0;
    const offset = nextOffset;
    nextOffset += end;
    await options.onChunk(offset, chunk);
  };

  const append = async (data: Buffer): Promise<void> => {
    let pos = 0;
    while (pos < data.length) {
      if (!current) {
        current = Buffer.allocUnsafe(maxChunkBytes);
        fill = carry.copy(current, 0);
        carry = Buffer.alloc(0);
      }
      const n = data.copy(current, fill, pos);
      fill += n;
      pos += n;
      if (fill === maxChunkBytes) await deliver(false);
    }
    if (fill > 0 && !timer) {
      timer = setTimeout(() => {
        timer = null;
        enqueue(() => deliver(false)).catch(() => undefined); // the failure is reported by the next write/close
      }, flushIntervalMs);
      timer.unref();
    }
  };

  const accept = async (text: string): Promise<void> => {
    if (truncated) {
      dropped += Buffer.byteLength(text, "utf8");
      return;
    }
    const data = Buffer.from(text, "utf8");
    const room = capBytes - accepted;
    if (data.length <= room) {
      accepted += data.length;
      return append(data);
    }
    const keep = completeUtf8Length(data, room);
    accepted += keep;
    dropped += data.length - keep;
    truncated = true;
    await append(data.subarray(0, keep));
    await append(notice);
  };

  return {
    write(text) {
      if (closing) return Promise.reject(new Error("log sink: write after close"));
      if (text.length === 0) return failure ? Promise.reject(failure.error) : Promise.resolve();
      return enqueue(() => accept(text));
    },
    discarding() {
      return truncated;
    },
    discard(bytes) {
      dropped += bytes;
    },
    close() {
      closing ??= enqueue(() => deliver(true));
      return closing;
    },
    get storedBytes() {
      return nextOffset + fill + carry.length;
    },
    get droppedBytes() {
      return dropped;
    },
    get truncated() {
      return truncated;
    },
  };
}

/** The length of `buf[0, end)` without a UTF-8 character that starts in it but does not end before `end`. */
function completeUtf8Length(buf: Buffer, end: number): number {
  for (let i = end - 1; i >= 0 && i >= end - 4; i--) {
    const b = buf[i];
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back for the lead byte
    const size = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return i + size <= end ? end : i;
  }
  return end;
}

function formatBytes(n: number): string {
  for (const [unit, size] of [["GiB", MiB * 1024], ["MiB", MiB], ["KiB", 1024]] as const) {
    if (n >= size && n % (size / 4) === 0) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}
