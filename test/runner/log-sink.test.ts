import assert from "node:assert/strict";
import { createLogSink } from "../../src/runner/log-sink";
import { sleep } from "./helpers";

interface Chunk {
  offset: number;
  data: Buffer;
}

describe("createLogSink", () => {
  it("delivers chunks in order with contiguous offsets, each at most maxChunkBytes and whole UTF-8", async () => {
    const chunks: Chunk[] = [];
    const sink = createLogSink({ maxChunkBytes: 100, onChunk: (offset, data) => void chunks.push({ offset, data }) });
    let written = "";
    for (let i = 0; i < 300; i++) {
      const piece = `line ${i} ${"é€😀".repeat(i % 7)}\n`;
      written += piece;
      await sink.write(piece);
    }
    await sink.close();
    let expectedOffset = 0;
    for (const c of chunks) {
      assert.equal(c.offset, expectedOffset);
      assert.ok(c.data.length <= 100 && c.data.length > 0);
      assert.deepEqual(Buffer.from(c.data.toString("utf8")), c.data, "a chunk decodes on its own");
      expectedOffset += c.data.length;
    }
    assert.equal(Buffer.concat(chunks.map((c) => c.data)).toString("utf8"), written);
    assert.equal(sink.storedBytes, Buffer.byteLength(written));
    assert.equal(sink.droppedBytes, 0);
    assert.equal(sink.truncated, false);
  });

  it("delivers a partly filled chunk after flushIntervalMs, without waiting for close", async () => {
    const chunks: Chunk[] = [];
    const sink = createLogSink({ flushIntervalMs: 30, onChunk: (offset, data) => void chunks.push({ offset, data }) });
    await sink.write("hello ");
    await sink.write("world\n");
    assert.equal(chunks.length, 0, "writes are batched");
    await sleep(80);
    assert.deepEqual(chunks.map((c) => [c.offset, c.data.toString()]), [[0, "hello world\n"]]);
    await sink.write("more\n");
    await sink.close();
    assert.deepEqual(chunks.map((c) => [c.offset, c.data.toString()]), [[0, "hello world\n"], [12, "more\n"]]);
  });

  it("stops at the cap with one notice line, and counts what it drops", async () => {
    const chunks: Buffer[] = [];
    const sink = createLogSink({ capBytes: 1024 * 1024, maxChunkBytes: 4096, onChunk: (_o, d) => void chunks.push(d) });
    const line = "x".repeat(99) + "\n";
    for (let i = 0; i < 20_000; i++) await sink.write(line); // 2 000 000 bytes
    await sink.close();
    const text = Buffer.concat(chunks).toString();
    const notice = "\n[pipelines] log truncated: this step printed more than 1 MiB; the rest is not stored\n";
    assert.ok(text.endsWith(notice), text.slice(-200));
    assert.equal(text.split("[pipelines]").length, 2, "the notice appears once");
    assert.equal(Buffer.byteLength(text), 1024 * 1024 + Buffer.byteLength(notice));
    assert.equal(sink.truncated, true);
    assert.equal(sink.droppedBytes, 2_000_000 - 1024 * 1024);
  });

  it("adds no notice when the output fits the cap exactly, and never cuts a character", async () => {
    const chunks: Buffer[] = [];
    const exact = createLogSink({ capBytes: 10, onChunk: (_o, d) => void chunks.push(d) });
    await exact.write("0123456789");
    await exact.close();
    assert.equal(Buffer.concat(chunks).toString(), "0123456789");
    assert.equal(exact.truncated, false);

    chunks.length = 0;
    const cut = createLogSink({ capBytes: 10, onChunk: (_o, d) => void chunks.push(d) });
    await cut.write("01234567€€"); // the first € would end at byte 11
    await cut.close();
    assert.ok(Buffer.concat(chunks).toString().startsWith("01234567\n[pipelines] log truncated"));
    assert.equal(cut.droppedBytes, 6);
  });

  it("applies back-pressure: a write waits while onChunk is slow, one chunk at a time", async () => {
    const events: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let maxBuffered = 0;
    let delivered = 0;
    const sink = createLogSink({
      maxChunkBytes: 1000,
      onChunk: async (_offset, data) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        maxBuffered = Math.max(maxBuffered, sink.storedBytes - delivered);
        events.push(`chunk ${data.length}`);
        await sleep(20);
        delivered += data.length;
        inFlight--;
      },
    });
    const started = Date.now();
    await sink.write("a".repeat(5000));
    events.push("write done");
    assert.ok(Date.now() - started >= 5 * 20 - 5, "the write waited for the slow deliveries");
    assert.deepEqual(events, ["chunk 1000", "chunk 1000", "chunk 1000", "chunk 1000", "chunk 1000", "write done"]);
    // Writes issued without waiting are queued behind each other, still one delivery at a time.
    await Promise.all([sink.write("b".repeat(1500)), sink.write("c".repeat(1500))]);
    await sink.close();
    assert.equal(maxInFlight, 1);
    assert.ok(maxBuffered <= 1000, `held ${maxBuffered} bytes`);
    assert.equal(delivered, 8000);
  });

  it("reports a failing onChunk on the next write and on close", async () => {
    const sink = createLogSink({ maxChunkBytes: 10, onChunk: () => Promise.reject(new Error("upload failed")) });
    await assert.rejects(sink.write("0123456789abc"), /upload failed/);
    await assert.rejects(sink.write("more"), /upload failed/);
    await assert.rejects(sink.close(), /upload failed/);
  });

  it("rejects writes after close", async () => {
    const sink = createLogSink({ onChunk: () => undefined });
    await sink.close();
    await sink.close();
    await assert.rejects(sink.write("late"), /after close/);
  });
});
