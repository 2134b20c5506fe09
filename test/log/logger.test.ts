import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { addSink, createLogger, registerSecret } from "../../src/log/logger";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { installWorld, type World } from "../support/build-world";
import { mintToken } from "../support/connect-tokens";
import { startTestServer, type TestServer } from "../support/test-server";

/** Runs `fn` with every line logged (and everything written to stderr) captured. */
function capture(fn: () => void, env: Record<string, string | undefined> = {}): { lines: string[]; stderr: string } {
  const lines: string[] = [];
  let stderr = "";
  const remove = addSink((l) => lines.push(l));
  const write = process.stderr.write.bind(process.stderr);
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
    remove();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return { lines, stderr };
}

describe("logger: JSON lines through pino", () => {
  it("writes one JSON object per line with level, time, message, the logger's fields and the line's", () => {
    const { lines } = capture(() => createLogger({ component: "t" }).child({ build: 7 }).warn("step failed", { step: 2, nested: { ok: true } }));
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.equal(line.level, "warn");
    assert.equal(line.msg, "step failed");
    assert.ok(!Number.isNaN(Date.parse(String(line.time))));
    assert.deepEqual({ component: line.component, build: line.build, step: line.step, nested: line.nested }, { component: "t", build: 7, step: 2, nested: { ok: true } });
  });

  it("never lets a registered secret or a token-like field through, wherever it sits", () => {
    const secret = `s3cr3t-${randomBytes(12).toString("hex")}`;
    registerSecret(secret);
    const tokenValue = randomBytes(16).toString("hex");
    const { lines } = capture(() => {
      const log = createLogger({ token: tokenValue }).child({ installation: `key ${secret}` });
      log.info(`installed with ${secret}`, { token: tokenValue, headers: { Authorization: `JWT ${tokenValue}` }, list: [secret, { accessToken: tokenValue }] });
      log.error("failed", { err: new Error(`bad secret ${secret}`) });
      log.info("plain", { sharedSecret: tokenValue, [`key-${secret}`]: 1 });
    });
    assert.equal(lines.length, 3);
    for (const l of lines) {
      assert.ok(!l.includes(secret), `a registered secret reached the log: ${l}`);
      assert.ok(!l.includes(tokenValue), `a token reached the log: ${l}`);
      JSON.parse(l);
    }
    const first = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.equal(first.token, "[redacted]");
    assert.equal(first.msg, "installed with [redacted]");
  });

  it("prints nothing under NODE_ENV=test unless LOG_LEVEL asks, and honours LOG_LEVEL otherwise", () => {
    const quiet = capture(() => createLogger().error("boom"), { NODE_ENV: "test", LOG_LEVEL: undefined });
    assert.equal(quiet.stderr, "");
    assert.equal(quiet.lines.length, 1, "the sinks still get the line");
    const loud = capture(() => {
      createLogger().debug("hidden");
      createLogger().warn("shown");
    }, { NODE_ENV: "test", LOG_LEVEL: "warn" });
    const printed = loud.stderr.trim().split("\n");
    assert.equal(printed.length, 1);
    assert.equal((JSON.parse(printed[0]) as { msg: string }).msg, "shown");
  });
});

describe("request ids", function () {
  this.timeout(60_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let world: World;
  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer({ PIPELINES_IN_PROCESS_RUNNER: "false" });
    world = await installWorld(bb, server, "reqid");
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  it("honours a well-formed X-Request-Id, replaces anything else, and echoes it", async () => {
    const kept = await fetch(`${server.url}/healthz`, { headers: { "X-Request-Id": "lb-1234.abcd:EF_9" } });
    assert.equal(kept.headers.get("x-request-id"), "lb-1234.abcd:EF_9");
    for (const bad of ["has space", "{\"json\":1}", "x".repeat(200), "-leading-dash"]) {
      const res = await fetch(`${server.url}/healthz`, { headers: { "X-Request-Id": bad } });
      assert.match(res.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/, `for ${JSON.stringify(bad)}`);
    }
    const a = (await fetch(`${server.url}/healthz`)).headers.get("x-request-id");
    const b = (await fetch(`${server.url}/healthz`)).headers.get("x-request-id");
    assert.ok(a && b && a !== b, "a new id per request");
  });

  it("lines about a delivery carry its request id and its delivery id", async () => {
    const requestId = `req-${randomBytes(6).toString("hex")}`;
    const requestUuid = randomUUID();
    const data = bb.pushPayload({ workspace: world.workspace, slug: world.slug }, [{ type: "branch", name: "main", old: null, new: "0".repeat(40) }]);
    const jwt = mintToken({ clientKey: world.clientKey, secret: bb.currentSecret(world.clientKey) ?? world.secret, method: "POST", path: "/webhook" });
    const res = await fetch(`${server.url}/webhook`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `JWT ${jwt}`, "X-Event-Key": "repo:push", "X-Request-UUID": requestUuid, "X-Request-Id": requestId },
      body: JSON.stringify({ event: "repo:push", data }),
    });
    assert.equal(res.status, 202, await res.text());
    assert.equal(res.headers.get("x-request-id"), requestId);
    const about = server.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.requestId === requestId);
    assert.ok(about.length > 0, "a line with the request id");
    assert.ok(about.some((l) => l.delivery === requestUuid && l.msg === "delivery stored"), JSON.stringify(about));
  });
});
