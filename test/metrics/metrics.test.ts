import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { eventually, installWorld, type World } from "../support/build-world";
import { startTestServer, type TestServer } from "../support/test-server";
import { parsePrometheusText, sampleValue } from "./prometheus-text";
import { loadMetricsSettings } from "../../src/config/metrics-settings";

const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        runs-on: [self.hosted, linux]
        script:
          - echo hello
`;

describe("/metrics", function () {
  this.timeout(60_000);
  const token = randomBytes(24).toString("hex");
  let bb: BitbucketCloud;
  let server: TestServer;
  let world: World;

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    // No runner: the build stays queued, so the queue gauges have something to show.
    server = await startTestServer({ PIPELINES_METRICS_TOKEN: token, PIPELINES_IN_PROCESS_RUNNER: "false" });
    world = await installWorld(bb, server, "metrics");
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  const scrape = async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(await res.text());
  };

  it("refuses a scrape without the token, or with another one", async () => {
    for (const auth of [undefined, "Bearer nope", `Bearer ${token}x`, `Basic ${Buffer.from(`x:${token}`).toString("base64")}`]) {
      const res = await fetch(`${server.url}/metrics`, { headers: auth ? { Authorization: auth } : {} });
      assert.equal(res.status, 401, `Authorization ${auth ?? "(none)"}`);
      assert.ok(!(await res.text()).includes("pipelines_"), "a refusal says nothing about the metrics");
    }
  });

  it("parses as the Prometheus text format, and a push counts as a received Connect delivery", async () => {
    const before = await scrape();
    for (const name of ["pipelines_deliveries_total", "pipelines_processor_backlog", "pipelines_builds", "pipelines_queue_depth", "pipelines_queue_oldest_wait_seconds", "pipelines_queue_wait_seconds", "pipelines_step_duration_seconds", "pipelines_status_outbox_backlog", "pipelines_status_outbox_failed", "pipelines_runners_connected"]) {
      assert.ok(before.has(name), `${name} is exposed`);
    }
    assert.equal(before.get("pipelines_step_duration_seconds")?.type, "histogram");
    const received = (f: typeof before) => sampleValue(f, "pipelines_deliveries_total", { kind: "connect", outcome: "received" }) ?? 0;
    const duplicate = (f: typeof before) => sampleValue(f, "pipelines_deliveries_total", { kind: "connect", outcome: "duplicate" }) ?? 0;
    const refused = (f: typeof before) => sampleValue(f, "pipelines_deliveries_total", { kind: "connect", outcome: "refused" }) ?? 0;

    const requestUuid = randomUUID();
    const { commit, delivery } = await bb.pushAndNotify(server.url, world.clientKey, world.workspace, world.slug, { files: { "bitbucket-pipelines.yml": PIPELINE }, message: "Add pipeline" }, { requestUuid });
    assert.equal(delivery.status, 202);
    const again = await bb.sendWebhook(server.url, world.clientKey, "repo:push", bb.pushPayload({ workspace: world.workspace, slug: world.slug }, [{ type: "branch", name: "main", old: null, new: commit.hash }]), { requestUuid, retries: 0 });
    assert.equal(again.status, 200);
    const forged = await fetch(`${server.url}/webhook`, { method: "POST", headers: { "Content-Type": "application/json", Authorization: "JWT not.a.token", "X-Request-UUID": randomUUID() }, body: "{}" });
    assert.equal(forged.status, 401);

    const after = await scrape();
    assert.equal(received(after) - received(before), 1, "one delivery received");
    assert.equal(duplicate(after) - duplicate(before), 1, "one duplicate");
    assert.equal(refused(after) - refused(before), 1, "one refused");

    // Database gauges: once the push is processed, its build waits in the queue under the step's runs-on labels.
    const { models } = server.storage;
    await eventually("the push's build queued", async () => (await models.Job.count({ where: { state: "queued" } })) === 1);
    const queued = await scrape();
    assert.equal(sampleValue(queued, "pipelines_processor_backlog"), 0);
    assert.equal(sampleValue(queued, "pipelines_builds", { state: "QUEUED" }), await models.Build.count({ where: { state: "QUEUED" } }));
    assert.equal(sampleValue(queued, "pipelines_queue_depth", { label: "linux,self.hosted" }), 1);
    assert.ok((sampleValue(queued, "pipelines_queue_oldest_wait_seconds", { label: "linux,self.hosted" }) ?? -1) >= 0);
    assert.equal(sampleValue(queued, "pipelines_queue_depth", { label: "default" }), 0);
  });

  it("the backlog and outbox gauges are the database's, whichever process asks", async () => {
    const { models } = server.storage;
    const tenant = await models.Tenant.findOne({ where: { clientKey: world.clientKey } });
    assert.ok(tenant);
    // Rows another process could have written: this process's counters know nothing of them.
    await models.Delivery.create({ tenantId: tenant.id, deliveryId: randomUUID(), eventKey: "repo:push", body: "{}", status: "ignored" });
    const runner = await models.Runner.create({ name: "elsewhere", tokenHash: randomBytes(32).toString("hex"), lastSeenAt: new Date() });
    await models.Runner.create({ name: "long-gone", tokenHash: randomBytes(32).toString("hex"), lastSeenAt: new Date(Date.now() - 3600_000) });
    const f = await scrape();
    assert.equal(sampleValue(f, "pipelines_runners_connected", { kind: "remote" }), 1);
    assert.equal(sampleValue(f, "pipelines_runners_connected", { kind: "in-process" }), 0);
    await runner.update({ lastSeenAt: new Date(Date.now() - 3600_000) });
    assert.equal(sampleValue(await scrape(), "pipelines_runners_connected", { kind: "remote" }), 0);
    assert.equal(sampleValue(f, "pipelines_status_outbox_backlog"), await models.StatusOutbox.count({ where: { status: "pending" } }));
  });
});

describe("/metrics: where it is served", function () {
  this.timeout(60_000);
  it("is not served at all without a token or a port", async () => {
    const server = await startTestServer();
    try {
      assert.equal((await fetch(`${server.url}/metrics`)).status, 404);
      assert.equal(server.metricsUrl, null);
    } finally {
      await server.stop();
    }
  });

  it("with PIPELINES_METRICS_PORT: on its own listener (loopback), not on the service's port", async () => {
    const server = await startTestServer({ PIPELINES_METRICS_PORT: "0", PIPELINES_IN_PROCESS_RUNNER: "false" });
    try {
      const metricsUrl = server.metricsUrl ?? "";
      assert.ok(metricsUrl.startsWith("http://127.0.0.1:"), String(server.metricsUrl));
      assert.equal((await fetch(`${server.url}/metrics`)).status, 404);
      const res = await fetch(metricsUrl);
      assert.equal(res.status, 200);
      assert.ok(parsePrometheusText(await res.text()).has("pipelines_deliveries_total"));
      assert.equal((await fetch(metricsUrl.replace("/metrics", "/healthz"))).status, 404);
    } finally {
      await server.stop();
    }
  });
});

describe("metrics settings", () => {
  it("refuses a short token or a bad port, naming the setting; the separate port listens on loopback unless told", () => {
    assert.throws(() => loadMetricsSettings({ PIPELINES_METRICS_TOKEN: "short" }), /PIPELINES_METRICS_TOKEN: must be at least 16 characters/);
    assert.throws(() => loadMetricsSettings({ PIPELINES_METRICS_TOKEN: "sixteen chars  with spaces" }), /PIPELINES_METRICS_TOKEN/);
    assert.throws(() => loadMetricsSettings({ PIPELINES_METRICS_PORT: "70000" }), /PIPELINES_METRICS_PORT: must be a port number/);
    assert.throws(() => loadMetricsSettings({ PIPELINES_METRICS_PORT: "http" }), /PIPELINES_METRICS_PORT/);
    assert.deepEqual(loadMetricsSettings({}), { token: null, port: null, host: "127.0.0.1" });
    assert.deepEqual(loadMetricsSettings({ PIPELINES_METRICS_PORT: "9464", PIPELINES_METRICS_HOST: "10.0.0.5" }), { token: null, port: 9464, host: "10.0.0.5" });
  });
});

describe("the Prometheus text parser of these tests", () => {
  it("refuses what is not the format", () => {
    const bad = [
      "metric 1", // no final newline
      "metric{a=b} 1\n",
      "metric{a=\"b} 1\n",
      "1metric 1\n",
      "metric one\n",
      "# TYPE m countr\nm 1\n",
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
      "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n",
    ];
    for (const text of bad) assert.throws(() => parsePrometheusText(text), Error, JSON.stringify(text));
    const ok = parsePrometheusText('# HELP m a "metric"\n# TYPE m counter\nm{a="x\\"y",b="\\\\"} 3\n');
    assert.equal(sampleValue(ok, "m", { a: 'x"y', b: "\\" }), 3);
  });
});
