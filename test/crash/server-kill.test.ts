import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { QueryTypes, Sequelize } from "sequelize";
import { loadConfig } from "../../src/config/load-config";
import { openStorage, type Storage } from "../../src/db/open-storage";
import { createLogger } from "../../src/log/logger";
import { startBitbucketCloud, type BitbucketCloud, type WebhookDelivery } from "../standin/cloud";
import { eventually, installWorld } from "../support/build-world";
import type { TestServer } from "../support/test-server";
import { freePort, spawnTs, type Child } from "../runner-api/support";

/** Deliveries that must be acknowledged before the server is killed. */
const ACKNOWLEDGED = 200;
/** Sent in all: those beyond ACKNOWLEDGED are in flight when the kill lands, or not sent yet. */
const SENT = 210;
/** Deliveries in flight at any moment. */
const CONCURRENCY = 8;

const PIPELINE = `pipelines:
  default:
    - step:
        name: Test
        script:
          - echo hello
`;

/** A fresh sqlite file, or a fresh schema when the suite runs against Postgres (dropped afterwards). */
function database(dir: string): { url: string; schema?: string } {
  const base = process.env.DATABASE_URL;
  if (base && /^postgres(ql)?:/.test(base)) {
    const schema = `crash_${process.pid}_${randomBytes(4).toString("hex")}`;
    const u = new URL(base);
    u.searchParams.set("schema", schema);
    return { url: u.toString(), schema };
  }
  return { url: `sqlite:${path.join(dir, "pipelines.sqlite")}` };
}

/**
 * kill -9 of the web process right after it acknowledged 200 webhook deliveries, then a restart on the same
 * database: every acknowledged delivery is in the inbox once and has exactly one build (none lost, none doubled,
 * whatever the processor was in the middle of); what was in flight, redelivered as Bitbucket would (same delivery
 * id), ends the same way.
 */
describe("crash: kill -9 of the server right after it acknowledged 200 deliveries", function () {
  this.timeout(150_000); // 250 builds made from scratch after a kill: tens of seconds on a loaded machine
  let bb: BitbucketCloud;
  let tmp: string;
  let db: { url: string; schema?: string };
  let env: Record<string, string>;
  let server: Child | undefined;
  let storage: Storage | undefined;

  const startServer = async (): Promise<Child> => {
    const child = spawnTs("src/server.ts", [], env);
    server = child; // stopped by after() even if it never answers
    await eventually("the server to answer /healthz", async () => {
      if (child.proc.exitCode !== null) throw new Error(`the server exited: ${child.output()}`);
      const res = await fetch(`${env.PIPELINES_BASE_URL}/healthz`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
      return res?.status === 200;
    }, 25_000);
    return child;
  };

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "server-kill-"));
    db = database(tmp);
    const port = await freePort();
    env = {
      NODE_ENV: "test",
      PORT: String(port),
      PIPELINES_DATA_DIR: path.join(tmp, "data"),
      DATABASE_URL: db.url,
      PIPELINES_SECRET_KEY: randomBytes(32).toString("base64"),
      PIPELINES_ALLOWED_HOSTS: "127.0.0.1,localhost",
      PIPELINES_BASE_URL: `http://127.0.0.1:${port}`,
      // No runner: builds stay queued, which is all this test looks at.
      PIPELINES_IN_PROCESS_RUNNER: "false",
    };
  });
  after(async () => {
    await storage?.close();
    if (server) {
      server.proc.kill("SIGTERM");
      await Promise.race([server.exited, new Promise((r) => setTimeout(r, 5000))]);
      await server.dispose();
    }
    await bb?.stop();
    if (db?.schema && process.env.DATABASE_URL) {
      const admin = new Sequelize(process.env.DATABASE_URL, { logging: false });
      await admin.query(`DROP SCHEMA IF EXISTS "${db.schema}" CASCADE`).catch(() => undefined);
      await admin.close();
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("every acknowledged delivery has exactly one build after the restart, and no build is doubled", async () => {
    server = await startServer();
    const w = await installWorld(bb, { url: env.PIPELINES_BASE_URL } as TestServer, "crash");
    const commit = await bb.commit(w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": PIPELINE }, message: "Add pipeline" });

    // SENT pushes to distinct branches, all pointing at the one commit with a pipeline file, sent at once.
    const sends = Array.from({ length: SENT }, (_, i) => {
      const data = bb.pushPayload({ workspace: w.workspace, slug: w.slug }, [{ type: "branch", name: `branch-${i}`, old: null, new: commit.hash }]);
      return { requestUuid: randomUUID(), data };
    });
    const acknowledged = new Set<string>();
    const victim = server;
    const send = ({ requestUuid, data }: (typeof sends)[number]) =>
      bb.sendWebhook(env.PIPELINES_BASE_URL, w.clientKey, "repo:push", data, { requestUuid, retries: 0, timeoutMs: 20_000 }).then((d: WebhookDelivery) => {
        if (d.status >= 200 && d.status < 300) {
          acknowledged.add(requestUuid);
          // The moment the 200th acknowledgement arrives: no shutdown, no flush, nothing.
          if (acknowledged.size === ACKNOWLEDGED) victim.proc.kill("SIGKILL");
        }
        return d;
      });
    // CONCURRENCY senders at once (as Bitbucket's would be), so the processor is busy turning earlier deliveries
    // into builds while later ones arrive, and the kill lands in the middle of that.
    const results: WebhookDelivery[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < sends.length) results.push(await send(sends[next++]));
      }),
    );
    if (acknowledged.size < ACKNOWLEDGED) {
      victim.proc.kill("SIGKILL");
      const answers = new Map<number, number>();
      for (const d of results) answers.set(d.status, (answers.get(d.status) ?? 0) + 1);
      assert.fail(`only ${acknowledged.size} of ${SENT} deliveries were acknowledged, so the kill never came; answers: ${JSON.stringify([...answers])}`);
    }
    if (acknowledged.size < ACKNOWLEDGED) {
      victim.proc.kill("SIGKILL");
      const answers = new Map<number, number>();
      for (const d of results) answers.set(d.status, (answers.get(d.status) ?? 0) + 1);
      assert.fail(`only ${acknowledged.size} of ${SENT} deliveries were acknowledged, so the kill never came; answers: ${JSON.stringify([...answers])}`);
    }
    const killed = await victim.exited;
    assert.equal(killed.signal, "SIGKILL", "the server was killed, not stopped");
    assert.ok(acknowledged.size >= ACKNOWLEDGED, `only ${acknowledged.size} deliveries were acknowledged`);
    assert.ok(results.every((d) => acknowledged.has(d.requestUuid) === (d.status >= 200 && d.status < 300)));
    for (const d of results) if (acknowledged.has(d.requestUuid)) assert.equal(d.status, 202, "a first delivery is answered 202");

    // Restart on the same database, and look at it from here too.
    server = await startServer();
    storage = await openStorage(loadConfig(env), createLogger({ test: "server-kill" }));
    const { models } = storage;
    const tenant = await models.Tenant.findOne({ where: { clientKey: w.clientKey } });
    assert.ok(tenant);

    // What was in flight is sent again with the same delivery id, as Bitbucket retries; a few acknowledged ones too.
    const unacknowledged = sends.filter((s) => !acknowledged.has(s.requestUuid));
    const again = [...unacknowledged, ...sends.filter((s) => acknowledged.has(s.requestUuid)).slice(0, 5)];
    for (const { requestUuid, data } of again) {
      const d = await bb.sendWebhook(env.PIPELINES_BASE_URL, w.clientKey, "repo:push", data, { requestUuid, retries: 0 });
      if (acknowledged.has(requestUuid)) assert.equal(d.status, 200, "an acknowledged delivery sent again is a duplicate");
      else assert.ok(d.status === 202 || d.status === 200, `redelivery answered ${d.status}`);
    }

    await eventually("no delivery left pending", async () => (await models.Delivery.count({ where: { tenantId: tenant.id, status: "pending" } })) === 0, 40_000);

    const deliveries = await models.Delivery.findAll({ where: { tenantId: tenant.id, eventKey: "repo:push" } });
    const byUuid = new Map<string, number>();
    for (const d of deliveries) byUuid.set(d.deliveryId, (byUuid.get(d.deliveryId) ?? 0) + 1);
    for (const { requestUuid } of sends) assert.equal(byUuid.get(requestUuid), 1, `delivery ${requestUuid} is in the inbox exactly once`);
    assert.equal(deliveries.length, SENT);
    assert.ok(deliveries.every((d) => d.status === "processed"), "every delivery was processed");

    const perDelivery = await models.sequelize.query<{ delivery_id: number; n: number | string }>(
      "SELECT delivery_id, COUNT(*) AS n FROM builds WHERE tenant_id = :tenant GROUP BY delivery_id",
      { replacements: { tenant: tenant.id }, type: QueryTypes.SELECT },
    );
    const builds = new Map(perDelivery.map((r) => [Number(r.delivery_id), Number(r.n)]));
    for (const d of deliveries) {
      assert.equal(builds.get(d.id) ?? 0, 1, `delivery ${d.deliveryId} (${acknowledged.has(d.deliveryId) ? "acknowledged" : "redelivered"}) has exactly one build`);
    }
    const doubled = await models.sequelize.query(
      "SELECT build_key, COUNT(*) AS n FROM builds WHERE tenant_id = :tenant GROUP BY build_key HAVING COUNT(*) > 1",
      { replacements: { tenant: tenant.id }, type: QueryTypes.SELECT },
    );
    assert.deepEqual(doubled, []);
    assert.equal(await models.Build.count({ where: { tenantId: tenant.id } }), SENT);
    const branches = new Set((await models.Build.findAll({ where: { tenantId: tenant.id }, attributes: ["refName"] })).map((b) => b.refName));
    assert.equal(branches.size, SENT);
  });
});
