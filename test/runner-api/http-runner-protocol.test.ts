import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { lockStateDir, parseRunnerArgs, UsageError } from "../../src/cli/runner";
import { HttpRunnerProtocol, RunnerApiError, RunnerUnauthorizedError } from "../../src/runner/http-runner-protocol";
import { readBootId, readProcStat } from "../../src/runner/proc-stat";
import { LeaseLostError } from "../../src/runner/runner-protocol";

const TOKEN = `pplr_${"a".repeat(43)}`;
const LEASE = { jobId: 7, leaseToken: "abc123" };

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
}

/** A fetch that answers from a script, one answer per call ("network" throws like a refused connection). */
function scripted(answers: Array<{ status: number; body?: unknown; headers?: Record<string, string> } | "network">) {
  const seen: Seen[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    seen.push({ method: String(init.method), url, headers: init.headers as Record<string, string>, body: init.body as string | Buffer | undefined });
    const next = answers.shift();
    if (!next) throw new Error("no more answers scripted");
    if (next === "network") throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
    const text = next.body === undefined ? "" : JSON.stringify(next.body);
    return new Response(next.status === 204 ? null : text, { status: next.status, headers: next.headers });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, seen };
}

const client = (fetch: typeof globalThis.fetch, extra: Partial<ConstructorParameters<typeof HttpRunnerProtocol>[0]> = {}) =>
  new HttpRunnerProtocol({ server: "http://127.0.0.1:9/base/", token: TOKEN, fetch, sleep: async () => undefined, random: () => 0, ...extra });

describe("HttpRunnerProtocol (the runner API client)", () => {
  it("sends the token as a Bearer header and maps the routes 1:1", async () => {
    const { fetch, seen } = scripted([{ status: 204 }, { status: 200, body: { stop: true } }, { status: 204 }, { status: 204 }]);
    const api = client(fetch);
    assert.equal(await api.claim("box"), null);
    assert.deepEqual(await api.heartbeat(LEASE), { stop: true });
    await api.appendLog(LEASE, 2, 128, Buffer.from("chunk"));
    await api.jobFinished(LEASE, { pausedAt: 3 });
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.url}`),
      [
        "POST http://127.0.0.1:9/base/runner/claim",
        "POST http://127.0.0.1:9/base/runner/jobs/7/heartbeat",
        "PUT http://127.0.0.1:9/base/runner/jobs/7/steps/2/log?offset=128",
        "POST http://127.0.0.1:9/base/runner/jobs/7/finish",
      ],
    );
    assert.ok(seen.every((s) => s.headers.Authorization === `Bearer ${TOKEN}`));
    assert.equal(seen[2].headers["X-Lease-Token"], "abc123");
    assert.equal(seen[2].headers["Content-Type"], "application/octet-stream");
    assert.equal(Buffer.from(seen[2].body as Buffer).toString(), "chunk");
    assert.deepEqual(JSON.parse(seen[3].body as string), { leaseToken: "abc123", pausedAt: 3 });
  });

  it("retries an idempotent call after network errors and 5xx, and stops at 4xx", async () => {
    const { fetch, seen } = scripted(["network", { status: 503, headers: { "Retry-After": "1" } }, { status: 502 }, { status: 204 }]);
    await client(fetch).appendLog(LEASE, 0, 0, Buffer.from("x"));
    assert.equal(seen.length, 4);

    const bad = scripted([{ status: 400, body: { error: "state must be one of …" } }]);
    await assert.rejects(client(bad.fetch).stepFinished(LEASE, 0, { state: "FAILED", exitCode: 1 }), (err: RunnerApiError) => err.status === 400 && /state must be/.test(err.message));
    assert.equal(bad.seen.length, 1);

    const down = scripted(["network", "network", "network"]);
    await assert.rejects(client(down.fetch, { maxAttempts: 3 }).heartbeat(LEASE), (err: RunnerApiError) => err.status === 0 && /ECONNREFUSED.*3 attempts/.test(err.message));
  });

  it("never retries a claim (a lost answer's job expires and is handed out again)", async () => {
    const { fetch, seen } = scripted([{ status: 500 }]);
    await assert.rejects(client(fetch).claim("box"), RunnerApiError);
    assert.equal(seen.length, 1);
  });

  it("409 lease-lost → LeaseLostError; 401 → RunnerUnauthorizedError and onUnauthorized, without the token in the message", async () => {
    const lost = scripted([{ status: 409, body: { error: "the job's lease was lost", code: "lease-lost" } }]);
    await assert.rejects(client(lost.fetch).stepStarted(LEASE, 0), LeaseLostError);

    const told: string[] = [];
    const refused = scripted([{ status: 401, body: { error: "the runner token is not known" } }]);
    await assert.rejects(client(refused.fetch, { onUnauthorized: (m) => told.push(m) }).heartbeat(LEASE), (err: Error) => err instanceof RunnerUnauthorizedError && !err.message.includes(TOKEN));
    assert.equal(told.length, 1);
  });

  it("refuses a server URL with credentials or another scheme", () => {
    assert.throws(() => new HttpRunnerProtocol({ server: "https://u:p@example.com", token: TOKEN }), /credentials/);
    assert.throws(() => new HttpRunnerProtocol({ server: "ftp://example.com", token: TOKEN }), /http/);
  });
});

describe("npm run runner: arguments and the state directory", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "runner-cli-"));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("takes the token from exactly one place, preferring the environment or a file; --token warns", () => {
    const base = ["--server", "http://127.0.0.1:3000", "--name", "box"];
    const fromEnv = parseRunnerArgs(base, { PIPELINES_RUNNER_TOKEN: TOKEN });
    assert.equal(fromEnv.token, TOKEN);
    assert.equal(fromEnv.tokenSource, "env");
    assert.match(fromEnv.stateDir, /\.pipelines-runner[/\\]box[/\\]state$/);

    const file = path.join(tmp, "token");
    fs.writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
    assert.equal(parseRunnerArgs([...base, "--token-file", file], {}).tokenSource, "file");

    const warnings: string[] = [];
    assert.equal(parseRunnerArgs([...base, `--token=${TOKEN}`], {}, (w) => warnings.push(w)).tokenSource, "argv");
    assert.match(warnings.join("\n"), /PIPELINES_RUNNER_TOKEN or --token-file/);

    assert.throws(() => parseRunnerArgs([...base, "--token-file", file], { PIPELINES_RUNNER_TOKEN: TOKEN }), /more than one way/);
    assert.throws(() => parseRunnerArgs(base, {}), /no runner token/);
    assert.throws(() => parseRunnerArgs(base, { PIPELINES_RUNNER_TOKEN: "hunter2" }), /not a runner token/);
    assert.throws(() => parseRunnerArgs(["--name", "box"], { PIPELINES_RUNNER_TOKEN: TOKEN }), /--server/);
    assert.throws(() => parseRunnerArgs([...base, "--bogus", "1"], { PIPELINES_RUNNER_TOKEN: TOKEN }), UsageError);
  });

  it("one runner per state directory: a live holder is refused, a dead or recycled one's lock is taken over", async () => {
    const dir = path.join(tmp, "state");
    const lockFile = path.join(dir, "runner.lock");
    const other = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      const pid = other.pid as number;
      const live = { pid, startTime: readProcStat(pid)?.startTime ?? null, bootId: readBootId() };
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(lockFile, JSON.stringify(live));
      await assert.rejects(lockStateDir(dir), /another runner \(pid \d+\) uses the state directory/);

      // Same pid, another start time: the pid was recycled, the runner that held the lock is gone.
      fs.writeFileSync(lockFile, JSON.stringify({ ...live, startTime: (live.startTime ?? 0) - 1 }));
      const release = await lockStateDir(dir);
      assert.equal((JSON.parse(fs.readFileSync(lockFile, "utf8")) as { pid: number }).pid, process.pid);
      await release();
      assert.ok(!fs.existsSync(lockFile));
    } finally {
      other.kill("SIGKILL");
    }
  });
});
