import assert from "node:assert/strict";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { installWorld, type World } from "../support/build-world";
import { insertBuild } from "../api/api-support";
import type { Build, Step } from "../../src/db/models";
import { mintToken } from "../support/connect-tokens";
import { linesOf, readSse } from "./pages-support";

/**
 * The live log: GET /api/builds/:id/steps/:n/log/stream, server-sent events whose ids are byte offsets. Builds are
 * recorded directly (no runner) and their logs written chunk by chunk as a runner would.
 */
describe("live log (server-sent events)", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  let w: World;

  before(async () => {
    bb = await startBitbucketCloud();
    server = await startTestServer();
    w = await installWorld(bb, server, "sse");
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  const models = () => server.storage.models;
  const token = () => mintToken({ clientKey: w.clientKey, secret: bb.currentSecret(w.clientKey) ?? w.secret, context: true });
  const streamUrl = (b: Build, n = 0, extra = "") => `${server.url}/api/builds/${b.id}/steps/${n}/log/stream?jwt=${token()}${extra}`;

  async function runningBuild(): Promise<{ build: Build; step: Step }> {
    const app = await models().Application.findByPk(w.applicationId);
    assert.ok(app);
    const build = await insertBuild(models(), app, { state: "RUNNING" });
    const step = await models().Step.findOne({ where: { buildId: build.id, index: 0 } });
    assert.ok(step);
    await step.update({ state: "RUNNING", startedAt: new Date() });
    return { build, step };
  }

  /** Appends to the step's log as the job service does, and wakes followers. */
  async function append(build: Build, step: Step, text: string | Buffer): Promise<void> {
    await step.reload();
    const data = Buffer.isBuffer(text) ? text : Buffer.from(text);
    await models().LogChunk.create({ stepId: step.id, offset: step.logBytes, data });
    await step.update({ logBytes: step.logBytes + data.length });
    server.engine.stepSignals.notify(build.id, 0);
  }

  async function finish(build: Build, step: Step, state = "SUCCESSFUL"): Promise<void> {
    await step.update({ state: state as Step["state"], finishedAt: new Date() });
    server.engine.stepSignals.notify(build.id, 0);
  }

  it("delivers the whole log of a finished step as whole lines, then ends", async () => {
    const { build, step } = await runningBuild();
    const text = Array.from({ length: 300 }, (_, i) => `line ${i + 1} ✓ ${"x".repeat(i % 50)}`).join("\n") + "\nno newline at the end";
    // Chunks cut in the middle of lines and of a multi-byte character.
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; at += 997) await append(build, step, bytes.subarray(at, at + 997));
    await finish(build, step);
    const res = await readSse(streamUrl(build));
    assert.equal(res.status, 200);
    assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
    assert.equal(res.headers["cache-control"], "no-store");
    assert.ok(res.ended);
    assert.deepEqual(linesOf(res.events), text.split("\n"));
    const end = res.events[res.events.length - 1];
    assert.equal(end.event, "end");
    assert.deepEqual(JSON.parse(end.data), { state: "SUCCESSFUL" });
    const ids = res.events.filter((e) => e.event === "message").map((e) => Number(e.id));
    assert.equal(ids[ids.length - 1], bytes.length, "the last id is the log's length in bytes");
    assert.deepEqual([...ids].sort((a, b) => a - b), ids, "ids only grow");
  });

  it("follows a running step, resumes after a reconnect (Last-Event-ID) without repeating a line, ends when the step ends", async () => {
    const { build, step } = await runningBuild();
    await append(build, step, "one\ntwo\nthr");
    // First connection: takes what is there (whole lines only), then goes away.
    const first = await readSse(streamUrl(build), { stopWhen: (ev) => linesOf(ev).length >= 2 });
    assert.equal(first.ended, false);
    assert.deepEqual(linesOf(first.events), ["one", "two"]);
    const lastId = first.events.filter((e) => e.id !== null).pop()?.id;
    assert.equal(lastId, String(Buffer.byteLength("one\ntwo\n")));

    await append(build, step, "ee\nfour\n");
    const second = readSse(streamUrl(build), { headers: { "Last-Event-ID": lastId ?? "" } });
    await new Promise((r) => setTimeout(r, 150));
    await append(build, step, "\x1b[32mfive\x1b[0m\nsix");
    await new Promise((r) => setTimeout(r, 150));
    await finish(build, step, "FAILED");
    const res = await second;
    assert.ok(res.ended, "the stream ends once the step has ended and everything was sent");
    assert.deepEqual(linesOf(res.events), ["three", "four", "five", "six"]);
    assert.equal(res.events[res.events.length - 1].event, "end");
    assert.deepEqual(JSON.parse(res.events[res.events.length - 1].data), { state: "FAILED" });
    // ?from= (a fresh EventSource after its token expired) resumes the same way.
    const from = await readSse(streamUrl(build, 0, `&from=${Buffer.byteLength("one\ntwo\nthree\n")}`));
    assert.deepEqual(linesOf(from.events), ["four", "five", "six"]);
  });

  it("renders colours as spans and a log's markup as text: a <script> in a log is inert", async () => {
    const { build, step } = await runningBuild();
    await append(build, step, '\x1b[1;31merror:\x1b[0m <script>alert("x")</script> & <img src=x onerror=alert(1)>\n\x1b]0;title\x07plain\x1b[K\n');
    await finish(build, step);
    const res = await readSse(streamUrl(build));
    const html = res.events
      .filter((e) => e.event === "message")
      .map((e) => (JSON.parse(e.data) as { html: string }).html)
      .join("");
    assert.ok(html.includes('<span class="ansi-fg-1 ansi-bold">error:</span>'), html);
    assert.ok(html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;"), html);
    assert.ok(!/<script|<img/i.test(html), "no markup from the log survives");
    assert.ok(!html.includes("\x1b") && !html.includes("title"), "other escape sequences are dropped");
    assert.deepEqual(linesOf(res.events), ['error: <script>alert("x")</script> & <img src=x onerror=alert(1)>', "plain"]);
  });

  it("a step that starts over (its runner was lost) sends reset, then the new log", async () => {
    const { build, step } = await runningBuild();
    await append(build, step, "first attempt\n");
    const res = readSse(streamUrl(build));
    await new Promise((r) => setTimeout(r, 150));
    // What JobService.release does: the chunks go, the byte count starts again.
    await models().LogChunk.destroy({ where: { stepId: step.id } });
    await step.update({ state: "PENDING", logBytes: 0 });
    server.engine.stepSignals.notify(build.id, 0);
    await new Promise((r) => setTimeout(r, 150));
    await step.update({ state: "RUNNING" });
    await append(build, step, "second attempt\n");
    await finish(build, step);
    const events = (await res).events;
    const reset = events.findIndex((e) => e.event === "reset");
    assert.ok(reset > 0, "a reset event");
    assert.deepEqual(linesOf(events.slice(0, reset)), ["first attempt"]);
    assert.deepEqual(linesOf(events.slice(reset)), ["second attempt"]);
  });

  it("a step that never runs (the build was stopped first) ends at once", async () => {
    const app = await models().Application.findByPk(w.applicationId);
    assert.ok(app);
    const build = await insertBuild(models(), app, { state: "STOPPED" });
    await models().Step.update({ state: "NOT_RUN" }, { where: { buildId: build.id } });
    const res = await readSse(streamUrl(build), { timeoutMs: 3000 });
    assert.deepEqual(res.events.map((e) => e.event), ["end"]);
  });

  it("refuses a malformed Last-Event-ID, an unknown step, and a page (normal) token", async () => {
    const { build } = await runningBuild();
    assert.equal((await readSse(streamUrl(build), { headers: { "Last-Event-ID": "12abc" } })).status, 400);
    assert.equal((await readSse(streamUrl(build, 7))).status, 404);
    const path = `/api/builds/${build.id}/steps/0/log/stream`;
    const normal = mintToken({ clientKey: w.clientKey, secret: bb.currentSecret(w.clientKey) ?? w.secret, method: "GET", path });
    assert.equal((await readSse(`${server.url}${path}?jwt=${normal}`)).status, 401);
  });

  it("through a real runner: the stream wakes as the step writes, and no token reaches the logs", async () => {
    // A workspace of its own: the builds recorded above did not take numbers from the application's counter.
    const rw = await installWorld(bb, server, "sse-run");
    const pipeline = "pipelines:\n  default:\n    - step:\n        name: Slowly\n        script:\n          - for i in 1 2 3; do echo \"tick $i\"; sleep 0.3; done\n";
    const { commit } = await bb.pushAndNotify(server.url, rw.clientKey, rw.workspace, rw.slug, { files: { "bitbucket-pipelines.yml": pipeline }, message: "slow" });
    let build: Build | null = null;
    for (let i = 0; i < 200 && !build; i++) {
      build = await models().Build.findOne({ where: { applicationId: rw.applicationId, commit: commit.hash } });
      if (!build) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(build);
    const jwt = mintToken({ clientKey: rw.clientKey, secret: bb.currentSecret(rw.clientKey) ?? rw.secret, context: true });
    const res = await readSse(`${server.url}/api/builds/${build.id}/steps/0/log/stream?jwt=${jwt}`, { timeoutMs: 20000 });
    const lines = linesOf(res.events);
    for (const t of ["tick 1", "tick 2", "tick 3"]) assert.ok(lines.some((l) => l.includes(t)), `${t} in ${JSON.stringify(lines)}`);
    assert.equal(res.events[res.events.length - 1].event, "end");
    assert.ok(!server.logs.some((l) => l.includes("jwt=") || l.includes(jwt.split(".")[2])), "no token in what the service logged");
  });
});
