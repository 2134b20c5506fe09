import assert from "node:assert/strict";
import { createLogSink } from "../../src/runner/log-sink";
import { runStep } from "../../src/runner/run-step";
import { makeTempDir } from "./helpers";

/** Past the log cap a step's output is only counted — exactly — and the step's result is unaffected. */
describe("output past the log cap", () => {
  const cleanups: Array<() => void> = [];
  after(() => cleanups.forEach((c) => c()));

  async function run(script: string[], capBytes: number) {
    const chunks: Buffer[] = [];
    const sink = createLogSink({ capBytes, onChunk: (_offset, data) => void chunks.push(Buffer.from(data)) });
    const result = await runStep({ script, cwd: makeTempDir("cap", cleanups), env: {}, secrets: ["topsecret-value"], maxTimeMs: 60_000, graceMs: 500, output: sink });
    await sink.close();
    return { result, sink, log: Buffer.concat(chunks).toString("utf8") };
  }

  it("counts every byte a step prints after the cap, on stdout and stderr, and keeps the secret masked before it", async () => {
    // 5 000 000 bytes on stdout and 3 000 000 on stderr after the echo of the secret.
    const { result, sink, log } = await run(['echo "secret=$(printf topsecret-value)"', "head -c 5000000 /dev/zero", "head -c 3000000 /dev/zero >&2"], 64 * 1024);
    assert.equal(result.state, "SUCCESSFUL");
    assert.ok(sink.truncated);
    assert.match(log, /secret=\*{8}/);
    assert.ok(!log.includes("topsecret-value"));
    const printed = sink.storedBytes + sink.droppedBytes;
    const notice = log.slice(log.lastIndexOf("\n[pipelines] log truncated"));
    const echoes = ["+ echo \"secret=$(printf topsecret-value)\"\n", "+ head -c 5000000 /dev/zero\n", "+ head -c 3000000 /dev/zero >&2\n"];
    // What the step printed: its command echoes, the masked line, and the 8 000 000 bytes.
    const expected = echoes.join("").replace("topsecret-value", "********").length + "secret=********\n".length + 8_000_000;
    assert.equal(printed - Buffer.byteLength(notice), expected);
  });

  it("a failing step after the cap still fails with its exit code", async () => {
    const { result, sink } = await run(["head -c 2000000 /dev/zero", "exit 7"], 4096);
    assert.equal(result.state, "FAILED");
    assert.equal(result.exitCode, 7);
    assert.ok(sink.droppedBytes > 1_990_000);
  });
});
