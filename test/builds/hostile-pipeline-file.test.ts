import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches, installWorld, stepLog } from "../support/build-world";
import { aliasAmplification } from "../pipelines/hostile-files";
import { mintToken } from "../support/connect-tokens";

/**
 * A pipeline file is written by whoever can push to any installed repository. The service reads it off its event
 * loop (a worker thread, within limits and a time budget), so one workspace's hostile file never delays another
 * workspace's webhooks (issue 15).
 */
describe("a hostile pipeline file pushed to one workspace", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  // No runner in this service: builds are recorded, not run, so that only the intake, the processor and the
  // pipeline-file worker share the process while the latencies are measured.
  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer({ PIPELINES_IN_PROCESS_RUNNER: "false" });
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  it("does not delay another workspace's webhooks (each answered 202 within 200 ms), and fails its own build naming the limit and line:col", async () => {
    const hostile = await installWorld(bb, server, "hostile");
    const calm = await installWorld(bb, server, "calm");
    // Both commits are made first (git runs in child processes of this process): while the latencies are measured,
    // only webhooks and their processing happen.
    const { text, firstAliasLine } = aliasAmplification(32);
    const commit = await bb.commit(hostile.workspace, hostile.slug, { files: { "bitbucket-pipelines.yml": text }, message: "a file of aliases" });
    const hostilePush = bb.pushPayload({ workspace: hostile.workspace, slug: hostile.slug }, [{ name: commit.branch, old: commit.previous, new: commit.hash }]);
    const calmCommit = await bb.commit(calm.workspace, calm.slug, {
      files: { "bitbucket-pipelines.yml": "pipelines:\n  default:\n    - step:\n        script: [echo calm]\n" },
      message: "calm",
    });
    const calmPush = bb.pushPayload({ workspace: calm.workspace, slug: calm.slug }, [{ name: calmCommit.branch, old: calmCommit.previous, new: calmCommit.hash }]);
    // The calm workspace's webhooks come from a thread of their own, timed there: a sender on this thread would
    // stall with the service whenever its event loop did, and never see the stall.
    const secret = bb.currentSecret(calm.clientKey) ?? calm.secret;
    const calmSender = sendWebhooksFromAnotherThread({
      url: `${server.url}/webhook`,
      headers: {
        "Content-Type": "application/json",
        "X-Event-Key": "repo:push",
        "X-Attempt-Number": "1",
        Authorization: `JWT ${mintToken({ clientKey: calm.clientKey, secret, method: "POST", path: "/webhook" })}`,
      },
      body: JSON.stringify({ event: "repo:push", data: calmPush }),
      intervalMs: 20,
    });
    await calmSender.warm;
    // The service's file checker has warmed up (a first file answered), as it has long before a real push comes.
    await server.engine.ctx.pipelineFiles.check({ text: "pipelines: {}" });

    const delivery = await bb.sendWebhook(server.url, hostile.clientKey, "repo:push", hostilePush);
    assert.equal(delivery.status, 202);
    const hostileDelivered = Date.now();
    const build = await buildReaches(server, hostile.applicationId, commit.hash, ["FAILED"]);
    const hostileBuilt = Date.now();
    const sent = await calmSender.stop();

    assert.ok(sent.every((s) => s.status === 202), JSON.stringify(sent.filter((s) => s.status !== 202)));
    const during = sent.filter((s) => s.sentAt >= hostileDelivered && s.sentAt <= hostileBuilt);
    assert.ok(during.length >= 3, `only ${during.length} webhooks were sent while the hostile push was processed`);
    const slowest = Math.max(...sent.map((s) => s.ms));
    assert.ok(slowest < 200, `the slowest webhook of the calm workspace took ${slowest.toFixed(0)} ms (of ${sent.map((s) => s.ms.toFixed(0)).join(", ")})`);

    const expected = `bitbucket-pipelines.yml:${firstAliasLine + 18}:13: error: alias *s stands for 1,005 nodes, which takes the file past 20,000 YAML nodes with aliases expanded (the node limit for a pipeline file); it is refused before it is expanded`;
    assert.equal(build.stateReason, expected);
    const log = await stepLog(server, build.id, 0);
    assert.ok(log.includes(`\n${expected}\n`), log);
    assert.doesNotMatch(log, /^\s+at /m, "no stack trace in the log");

    // The calm workspace's pushes were taken as usual: one build of its commit, queued for a runner.
    const calmBuild = await buildReaches(server, calm.applicationId, calmCommit.hash, ["QUEUED"]);
    assert.equal(calmBuild.pipelineName, "default");
  });
});

interface Sent {
  /** Wall clock (ms since epoch) when the request was sent. */
  sentAt: number;
  ms: number;
  status: number;
}

/** Sends the same webhook (a fresh X-Request-UUID each time) one after another from a worker thread, until stopped. */
function sendWebhooksFromAnotherThread(o: { url: string; headers: Record<string, string>; body: string; intervalMs: number }): { warm: Promise<void>; stop(): Promise<Sent[]> } {
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const { randomUUID } = require("node:crypto");
     const { url, headers, body, intervalMs } = workerData;
     const sent = [];
     let stopping = false;
     parentPort.on("message", () => { stopping = true; });
     (async () => {
       // One request first, not counted: the thread's first fetch loads the HTTP client and opens the connection.
       await fetch(url, { method: "POST", headers: { ...headers, "X-Request-UUID": randomUUID() }, body }).then((r) => r.text(), () => "");
       parentPort.postMessage("warm");
       while (!stopping) {
         const sentAt = Date.now();
         const started = performance.now();
         let status = 0;
         try {
           const res = await fetch(url, { method: "POST", headers: { ...headers, "X-Request-UUID": randomUUID() }, body });
           await res.text();
           status = res.status;
         } catch {}
         sent.push({ sentAt, ms: performance.now() - started, status });
         await new Promise((r) => setTimeout(r, intervalMs));
       }
       parentPort.postMessage(sent);
     })();`,
    { eval: true, workerData: o },
  );
  const warm = new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
  });
  return {
    warm,
    stop: () =>
      new Promise<Sent[]>((resolve, reject) => {
        worker.once("message", (sent: Sent[]) => {
          void worker.terminate();
          resolve(sent);
        });
        worker.once("error", reject);
        worker.postMessage("stop");
      }),
  };
}
