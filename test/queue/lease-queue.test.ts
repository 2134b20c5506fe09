import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startTestServer, type TestServer } from "../support/test-server";
import { claimJob, extendLease } from "../../src/queue/lease-queue";
import { jobRunsOn, needsAnotherRunner, runnerLabels } from "../../src/queue/job-labels";
import type { Plan } from "../../src/pipelines";
import { reapExpiredJobs } from "../../src/builds/reap-jobs";
import { settleUnrunnableJobs } from "../../src/builds/unrunnable-jobs";
import type { Models } from "../../src/db/models";

/** The lease queue on the configured database (sqlite, or Postgres in CI's second run). */
describe("lease queue", () => {
  let server: TestServer;
  let models: Models;
  before(async () => {
    // The engine's own reaper looks rarely here (every 15 s): the tests call reapExpiredJobs themselves, and a background
    // reap of the same expired lease between their claim and their call would take it first.
    server = await startTestServer({ PIPELINES_IN_PROCESS_RUNNER: "false" }, { pollMs: 60_000 });
    models = server.storage.models;
  });
  after(async () => server?.stop());

  let n = 0;
  async function tenantWithApp(): Promise<{ tenantId: number; applicationId: number }> {
    const t = await models.Tenant.create({ kind: "cloud-connect", clientKey: `queue-${randomUUID()}`, status: "active", baseUrl: "http://127.0.0.1:1", sharedSecret: "x".repeat(32) });
    const a = await models.Application.create({ tenantId: t.id, repository: `ws/r${++n}`, autoBuild: true, autoCancel: true });
    return { tenantId: t.id, applicationId: a.id };
  }
  async function queueJob(owner: { tenantId: number; applicationId: number }, runsOn: string | null = null): Promise<number> {
    const b = await models.Build.create({
      ...owner, number: ++n, buildKey: randomUUID(), trigger: "push", refType: "branch", refName: "main", commit: "a".repeat(40),
      pipelineName: "default", pipelineKey: "default", state: "QUEUED", plan: JSON.stringify({ steps: [], cloneEnabled: false, caches: {} }),
    });
    const j = await models.Job.create({ tenantId: owner.tenantId, buildId: b.id, startStep: 0, state: "queued", runsOn });
    return j.id;
  }
  const drain = async () => models.Job.update({ state: "done" }, { where: {} });

  it("hands out jobs oldest first, each to one claimer, and a tenant at its limit waits while others run", async () => {
    await drain();
    const a = await tenantWithApp();
    const b = await tenantWithApp();
    const a1 = await queueJob(a);
    const a2 = await queueJob(a);
    const b1 = await queueJob(b);
    const first = await claimJob(models, "r1", 30_000, 1);
    assert.equal(first?.id, a1);
    const second = await claimJob(models, "r2", 30_000, 1);
    assert.equal(second?.id, b1, "tenant A is at its limit of 1: its second job waits, B's runs");
    assert.equal(await claimJob(models, "r3", 30_000, 1), null);
    await first?.update({ state: "done" });
    assert.equal((await claimJob(models, "r3", 30_000, 1))?.id, a2, "A's next job, once its first is done");
  });

  it("twenty concurrent claimers never get the same job", async () => {
    await drain();
    const owners = await Promise.all(Array.from({ length: 4 }, () => tenantWithApp()));
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) ids.push(await queueJob(owners[i % 4]));
    const claimed = await Promise.all(Array.from({ length: 20 }, (_, i) => claimJob(models, `c${i}`, 30_000, 3)));
    const got = claimed.filter((j) => j !== null).map((j) => j.id);
    assert.equal(new Set(got).size, got.length, "no job twice");
    assert.deepEqual([...got].sort((x, y) => x - y), ids, "all 12 claimed (3 per tenant)");
  });

  it("a lost lease cannot be extended; an expired one is retried once, then the build fails with the reason", async () => {
    await drain();
    const owner = await tenantWithApp();
    const jobId = await queueJob(owner);
    const job = await claimJob(models, "crashy", 50, 5);
    assert.equal(job?.id, jobId);
    const lease = { jobId, leaseToken: job?.leaseToken ?? "" };
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(await reapExpiredJobs(server.engine.ctx), 1);
    assert.equal(await extendLease(models, lease, 1000), false, "the old lease is gone");
    let build = await models.Build.findByPk(job?.buildId);
    assert.equal(build?.state, "QUEUED");
    assert.equal(build?.retries, 1);

    const again = await claimJob(models, "crashy-2", 50, 5);
    assert.equal(again?.id, jobId);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(await reapExpiredJobs(server.engine.ctx), 1);
    build = await models.Build.findByPk(job?.buildId);
    assert.equal(build?.state, "FAILED");
    assert.match(build?.stateReason ?? "", /crashy-2 stopped responding \(its lease expired\) again after a retry/);
    const status = await models.StatusOutbox.findOne({ where: { buildId: build?.id, state: "FAILED" } });
    assert.ok(status, "the failure is reported to Bitbucket");
  });

  it("a job is claimed only by a runner having every label it needs; one needing none by any runner", async () => {
    await drain();
    const owner = await tenantWithApp();
    const gpu = await queueJob(owner, JSON.stringify(["gpu", "linux", "self.hosted"]));
    const plain = await queueJob(owner);
    const arm = await queueJob(owner, JSON.stringify(["arm64"]));
    const linuxOnly = runnerLabels([], "linux");
    assert.deepEqual(linuxOnly, ["linux", "self.hosted"]);
    assert.equal((await claimJob(models, "small", 30_000, 10, linuxOnly))?.id, plain, "a runner without gpu skips the gpu job for the next it can take");
    assert.equal(await claimJob(models, "small", 30_000, 10, linuxOnly), null, "nothing else suits it");
    assert.equal(await claimJob(models, "old", 30_000, 10, []), null, "a runner that says no labels takes only jobs needing none");
    assert.equal((await claimJob(models, "arm", 30_000, 10, runnerLabels(["ARM64 "], "linux")))?.id, arm, "labels compared trimmed and lower-cased");
    assert.equal((await claimJob(models, "big", 30_000, 10, runnerLabels(["gpu", "large"], "linux")))?.id, gpu);
  });

  it("a job needs its first step's labels (its parallel group's); a later step needing another label needs another runner", () => {
    const step = (index: number, runsOn: string[], parallelGroup?: number) => ({ index, runsOn, manual: false, parallelGroup }) as unknown as Plan["steps"][number];
    const plan = { steps: [step(0, ["self.hosted", "Linux"]), step(1, ["linux"]), step(2, ["gpu"], 0), step(3, ["large"], 0), step(4, [])] } as unknown as Plan;
    assert.equal(jobRunsOn(plan, 0), JSON.stringify(["linux", "self.hosted"]));
    assert.equal(jobRunsOn(plan, 2), JSON.stringify(["gpu", "large"]), "a parallel group runs on one runner: the union of its steps");
    assert.equal(jobRunsOn(plan, 4), null);
    assert.equal(jobRunsOn(null, 0), null);
    const first = jobRunsOn(plan, 0);
    assert.equal(needsAnotherRunner(first, plan, 1), false, "fewer labels: the same runner goes on");
    assert.equal(needsAnotherRunner(first, plan, 2), true);
    assert.equal(needsAnotherRunner(jobRunsOn(plan, 2), plan, 4), false);
  });

  it("a label from a stranger's pipeline file is data, never SQL: the job waits saying so, then fails after the timeout", async () => {
    await drain();
    const owner = await tenantWithApp();
    const hostile = ["x'); drop table jobs; --", 'q"uote'];
    const jobId = await queueJob(owner, JSON.stringify(hostile.sort()));
    assert.equal(await claimJob(models, "r", 30_000, 10, runnerLabels(["gpu"], "linux")), null);
    assert.equal(await settleUnrunnableJobs(server.engine.ctx, 60_000), 0);
    const job = await models.Job.findByPk(jobId);
    let build = await models.Build.findByPk(job?.buildId);
    assert.equal(build?.stateReason, `waiting: no runner with labels ${hostile.join(", ")}`);
    assert.equal(await settleUnrunnableJobs(server.engine.ctx, 60_000, new Date(Date.now() + 61_000)), 1);
    build = await models.Build.findByPk(job?.buildId);
    assert.equal(build?.state, "FAILED");
    assert.equal(await models.Job.count({ where: { id: jobId, state: "done" } }), 1, "the jobs table is still there");
  });
});
