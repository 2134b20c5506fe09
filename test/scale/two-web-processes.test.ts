import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { QueryTypes, Sequelize } from "sequelize";
import { loadConfig } from "../../src/config/load-config";
import { openStorage, type Storage } from "../../src/db/open-storage";
import { createLogger } from "../../src/log/logger";
import { PROJECT_ROOT } from "../../src/app";
import { startBitbucketCloud, type BitbucketCloud, type WebhookDelivery } from "../standin/cloud";
import { eventually, installWorld, type World } from "../support/build-world";
import { mintToken } from "../support/connect-tokens";
import type { TestServer } from "../support/test-server";
import { createRunnerToken, freePort, spawnTs, type Child } from "../runner-api/support";
import { readSse } from "../pages/pages-support";
import { startBalancer, type Balancer } from "./balancer";

const PUSHES = 200;
/** The web process B is killed once this many deliveries were acknowledged (about half of them). */
const KILL_AFTER = 100;
/** Deliveries in flight at once, as Bitbucket's senders would have them. */
const CONCURRENCY = 8;
const LEASE_MS = 6000;

/** A trivial step (no clone, nothing to fetch): what is measured is the service, not git. */
const TRIVIAL = `clone:
  enabled: false
pipelines:
  default:
    - step:
        name: Echo
        script:
          - echo "ran build $BITBUCKET_BUILD_NUMBER"
`;
const SLOW = `clone:
  enabled: false
pipelines:
  branches:
    slow:
      - step:
          name: Slowly
          script:
            - for i in 1 2 3 4 5 6; do echo "tick $i"; sleep 0.4; done
`;

/**
 * These tests are about Postgres (the one database several web processes share), so they always run on it: on the
 * suite's DATABASE_URL when that is Postgres, else on the machine's own Postgres (scripts/ensure-postgres.sh starts
 * it), each run in a fresh schema dropped afterwards. The sqlite pass of the CI runs them too, against that Postgres:
 * a web tier of several processes has no sqlite form, and a test that skips itself in one pass is easy to lose.
 */
function postgresSchemaUrl(): { url: string; base: string } {
  let base = process.env.DATABASE_URL;
  if (!base || !/^postgres(ql)?:/.test(base)) {
    const ensured = spawnSync("bash", [path.join(PROJECT_ROOT, "scripts/ensure-postgres.sh")], { encoding: "utf8" });
    if (ensured.status !== 0) throw new Error(`these tests need Postgres on 127.0.0.1:5432 and none answers: ${ensured.stderr}`);
    base = "postgres://postgres@127.0.0.1:5432/test";
  }
  const u = new URL(base);
  u.searchParams.set("schema", `scale_${process.pid}_${randomBytes(4).toString("hex")}`);
  return { url: u.toString(), base };
}

interface WebProcess {
  name: string;
  url: string;
  env: Record<string, string>;
  child: Child;
}

/** Runner log lines "running a job", as { runner, build } pairs (the runners log JSON lines). */
function jobsRun(runners: Array<{ name: string; child: Child }>): Array<{ runner: string; build: number }> {
  const out: Array<{ runner: string; build: number }> = [];
  for (const r of runners) {
    for (const line of r.child.output().split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const l = JSON.parse(line) as { msg?: string; build?: number };
        if (l.msg === "running a job" && typeof l.build === "number") out.push({ runner: r.name, build: l.build });
      } catch {
        // not a log line
      }
    }
  }
  return out;
}

describe("two web processes and two remote runners on one Postgres", function () {
  this.timeout(240_000);
  let bb: BitbucketCloud;
  let tmp: string;
  let db: { url: string; base: string };
  let lb: Balancer;
  let a: WebProcess;
  let b: WebProcess;
  let storage: Storage;
  let world: World;
  const runners: Array<{ name: string; child: Child }> = [];
  const children: Child[] = [];

  const startWeb = async (name: string, port: number, common: Record<string, string>): Promise<WebProcess> => {
    const env = { ...common, PORT: String(port), PIPELINES_DATA_DIR: path.join(tmp, `data-${name}`) };
    const child = spawnTs("test/scale/web-process.ts", [], env);
    children.push(child);
    const url = `http://127.0.0.1:${port}`;
    await eventually(`web process ${name} to answer /healthz`, async () => {
      if (child.proc.exitCode !== null) throw new Error(`web process ${name} exited: ${child.output()}`);
      return (await fetch(`${url}/healthz`).catch(() => null))?.status === 200;
    }, 30_000);
    return { name, url, env, child };
  };

  const startRunner = async (name: string, server: string) => {
    const token = await createRunnerToken(a.env, name);
    const child = spawnTs(
      "src/cli/runner.ts",
      ["--server", server, "--name", name, "--state-dir", path.join(tmp, `state-${name}`), "--work-dir", path.join(tmp, `work-${name}`), "--poll-ms", "200", "--grace-ms", "1000", "--slots", "3"],
      { PIPELINES_RUNNER_TOKEN: token, NODE_ENV: "test", LOG_LEVEL: "info" },
    );
    children.push(child);
    runners.push({ name, child });
    await eventually(`runner ${name} to start`, async () => {
      if (child.proc.exitCode !== null) throw new Error(`runner ${name} exited: ${child.output()}`);
      return /steps run in/.test(child.output());
    }, 30_000);
  };

  before(async () => {
    db = postgresSchemaUrl();
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "two-web-"));
    const [portA, portB] = [await freePort(), await freePort()];
    // Bitbucket, the browser and the runners reach the web tier through one address, as behind a load balancer.
    lb = await startBalancer([`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`]);
    const common = {
      NODE_ENV: "test",
      DATABASE_URL: db.url,
      PIPELINES_SECRET_KEY: randomBytes(32).toString("base64"),
      PIPELINES_ALLOWED_HOSTS: "127.0.0.1,localhost",
      PIPELINES_BASE_URL: lb.url,
      PIPELINES_IN_PROCESS_RUNNER: "false",
      PIPELINES_CONCURRENCY_PER_TENANT: "50",
      TEST_LEASE_MS: String(LEASE_MS),
    };
    a = await startWeb("A", portA, common);
    b = await startWeb("B", portB, common);
    storage = await openStorage(loadConfig({ ...a.env, PIPELINES_DATA_DIR: path.join(tmp, "data-test") }), createLogger({ test: "two-web" }));
    world = await installWorld(bb, { url: lb.url } as TestServer, "scale");
  });

  after(async () => {
    await storage?.close();
    for (const c of children) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGTERM");
    }
    await Promise.all(children.map((c) => Promise.race([c.exited, new Promise((r) => setTimeout(r, 8000))])));
    await Promise.all(children.map((c) => c.dispose()));
    await lb?.close();
    await bb?.stop();
    if (db) {
      const admin = new Sequelize(db.base, { logging: false });
      await admin.query(`DROP SCHEMA IF EXISTS "${new URL(db.url).searchParams.get("schema")}" CASCADE`).catch(() => undefined);
      await admin.close();
    }
    // A runner that did not stop in time may have left its workspaces mounted.
    if (tmp) for (const point of mountsUnder(tmp).reverse()) spawnSync("umount", ["-l", point]);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("the live log works through the process that did not run the step", async () => {
    // Only runner 1 so far, and it talks to A alone: every report about the step reaches A, never B.
    await startRunner("r1", a.url);
    const { commit } = await bb.pushAndNotify(a.url, world.clientKey, world.workspace, world.slug, { files: { "bitbucket-pipelines.yml": SLOW }, branch: "slow", message: "slow" });
    const { models } = storage;
    const build = await eventually("the slow build", () => models.Build.findOne({ where: { applicationId: world.applicationId, commit: commit.hash } }), 30_000);
    const jwt = mintToken({ clientKey: world.clientKey, secret: bb.currentSecret(world.clientKey) ?? world.secret, context: true });
    const started = Date.now();
    const res = await readSse(`${b.url}/api/builds/${build.id}/steps/0/log/stream?jwt=${jwt}`, { timeoutMs: 60_000 });
    assert.equal(res.status, 200);
    const html = res.events.filter((e) => e.event === "message").map((e) => (JSON.parse(e.data) as { html: string }).html);
    const text = html.join("");
    for (let i = 1; i <= 6; i++) assert.ok(text.includes(`tick ${i}`), `tick ${i} in the stream from B: ${text}`);
    assert.ok(html.length >= 2, `the log came in pieces as the step ran (${html.length} events)`);
    const end = res.events[res.events.length - 1];
    assert.equal(end.event, "end");
    assert.equal((JSON.parse(end.data) as { state: string }).state, "SUCCESSFUL");
    assert.ok(Date.now() - started >= 1500, "the stream followed the step while it ran");
    const ran = jobsRun(runners);
    assert.deepEqual(ran, [{ runner: "r1", build: build.id }]);
  });

  it(`${PUSHES} pushes spread over both processes, one of them killed -9 halfway: exactly ${PUSHES} builds, each step run once`, async () => {
    // Runner 2 talks to the web tier through the balancer, as runners elsewhere would.
    await startRunner("r2", lb.url);
    const { models } = storage;
    const tenant = await models.Tenant.findOne({ where: { clientKey: world.clientKey } });
    assert.ok(tenant);
    const commit = await bb.commit(world.workspace, world.slug, { files: { "bitbucket-pipelines.yml": TRIVIAL }, message: "trivial pipeline" });
    const sends = Array.from({ length: PUSHES }, (_, i) => ({
      requestUuid: randomUUID(),
      branch: `branch-${i}`,
      // Even deliveries to A, odd ones to B: each process takes half of the intake until B dies.
      to: i % 2 === 0 ? a : b,
      data: bb.pushPayload({ workspace: world.workspace, slug: world.slug }, [{ type: "branch", name: `branch-${i}`, old: null, new: commit.hash }]),
    }));
    const acknowledged = new Set<string>();
    let killed = false;
    const send = (s: (typeof sends)[number]): Promise<WebhookDelivery> =>
      bb
        .sendWebhook(s.to.url, world.clientKey, "repo:push", s.data, { requestUuid: s.requestUuid, retries: 0, timeoutMs: 20_000 })
        // A connection the kill cut: not acknowledged, Bitbucket will deliver it again.
        .catch(() => ({ status: 0 }) as WebhookDelivery)
        .then((d) => {
        if (d.status >= 200 && d.status < 300) acknowledged.add(s.requestUuid);
        if (!killed && acknowledged.size >= KILL_AFTER) {
          killed = true;
          b.child.proc.kill("SIGKILL"); // no shutdown, no flush
        }
        return d;
      });
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < sends.length) await send(sends[next++]);
      }),
    );
    assert.equal((await b.child.exited).signal, "SIGKILL");
    // What B never acknowledged, Bitbucket delivers again (same delivery id); it reaches A now. A few acknowledged
    // ones again too: they are duplicates.
    const again = [...sends.filter((s) => !acknowledged.has(s.requestUuid)), ...sends.filter((s) => acknowledged.has(s.requestUuid) && s.to === b).slice(0, 5)];
    for (const s of again) {
      const d = await bb.sendWebhook(a.url, world.clientKey, "repo:push", s.data, { requestUuid: s.requestUuid, retries: 2 });
      if (acknowledged.has(s.requestUuid)) assert.equal(d.status, 200, "an acknowledged delivery sent again is a duplicate");
      else assert.ok(d.status === 202 || d.status === 200, `redelivery answered ${d.status}`);
    }
    assert.ok(sends.filter((s) => s.to === b && acknowledged.has(s.requestUuid)).length >= KILL_AFTER / 2 - CONCURRENCY, "B took its share before it died");

    const pushBuilds = () => models.Build.findAll({ where: { tenantId: tenant.id, commit: commit.hash } });
    await eventually(`all ${PUSHES} builds finished`, async () => {
      const builds = await pushBuilds();
      return builds.length === PUSHES && builds.every((x) => ["SUCCESSFUL", "FAILED", "STOPPED"].includes(x.state));
    }, 150_000).catch(async (err: Error) => {
      const builds = await pushBuilds();
      const states: Record<string, number> = {};
      for (const x of builds) states[x.state] = (states[x.state] ?? 0) + 1;
      throw new Error(`${err.message}: ${builds.length} builds ${JSON.stringify(states)}\nr2: ${runners[1]?.child.output().slice(-3000)}`);
    });

    // Nothing lost: every delivery once in the inbox, processed, with exactly one build.
    const deliveries = await models.Delivery.findAll({ where: { tenantId: tenant.id, eventKey: "repo:push" } });
    const byUuid = new Map<string, number>();
    for (const d of deliveries) byUuid.set(d.deliveryId, (byUuid.get(d.deliveryId) ?? 0) + 1);
    for (const s of sends) assert.equal(byUuid.get(s.requestUuid), 1, `delivery ${s.requestUuid} is in the inbox once`);
    assert.ok(deliveries.every((d) => d.status === "processed"), "every delivery was processed");
    const perDelivery = await models.sequelize.query<{ delivery_id: number; n: string | number }>("SELECT delivery_id, COUNT(*) AS n FROM builds WHERE tenant_id = :t AND \"commit\" = :c GROUP BY delivery_id", {
      replacements: { t: tenant.id, c: commit.hash },
      type: QueryTypes.SELECT,
    });
    assert.equal(perDelivery.length, PUSHES);
    assert.ok(perDelivery.every((r) => Number(r.n) === 1), "one build per delivery");

    // Nothing doubled: 200 builds on 200 branches, each successful, its one step run once by one runner.
    const builds = await pushBuilds();
    assert.equal(builds.length, PUSHES);
    assert.equal(new Set(builds.map((x) => x.refName)).size, PUSHES);
    assert.deepEqual(builds.filter((x) => x.state !== "SUCCESSFUL").map((x) => `#${x.number} ${x.state}: ${x.stateReason}`), []);
    const ran = jobsRun(runners);
    const runs = new Map<number, number>();
    for (const r of ran) runs.set(r.build, (runs.get(r.build) ?? 0) + 1);
    for (const x of builds) assert.equal(runs.get(x.id), 1, `build #${x.number}'s job was run ${runs.get(x.id) ?? 0} times`);
    assert.ok(ran.some((r) => r.runner === "r1") && ran.some((r) => r.runner === "r2"), "both runners ran builds");
    const steps = await models.Step.findAll({ where: { buildId: builds.map((x) => x.id) } });
    assert.equal(steps.length, PUSHES);
    assert.ok(steps.every((s) => s.state === "SUCCESSFUL"));
    const logs = await models.sequelize.query<{ build_id: number; number: number; log: string }>(
      `SELECT s.build_id, b.number, string_agg(convert_from(c.data, 'UTF8'), '' ORDER BY c."offset") AS log
         FROM steps s JOIN builds b ON b.id = s.build_id JOIN log_chunks c ON c.step_id = s.id
        WHERE b.tenant_id = :t AND b."commit" = :c GROUP BY s.build_id, b.number`,
      { replacements: { t: tenant.id, c: commit.hash }, type: QueryTypes.SELECT },
    );
    assert.equal(logs.length, PUSHES);
    for (const l of logs) assert.equal(l.log.split(`ran build ${l.number}\n`).length - 1, 1, `build #${l.number}'s log says it ran once`);

    // Statuses: every row of the outbox settled once (none left pending, none failed). A row the killed process had
    // taken is left to it for a minute (a post may take that long), then the other process posts it.
    await eventually("every status row settled", async () => (await models.StatusOutbox.count({ where: { tenantId: tenant.id, status: "pending" } })) === 0, 90_000).catch(() => undefined);
    const outbox = await models.StatusOutbox.findAll({ where: { tenantId: tenant.id } });
    assert.deepEqual(outbox.filter((o) => o.status === "pending" || o.status === "failed").map((o) => `${o.id} ${o.status} ${o.lastError}`), []);
    // And posted once each: a second process never posts a row the first took (at least once: a post the kill cut
    // between Bitbucket's answer and the row's update is posted again, hence the small allowance).
    const posted = bb.statusHistory(world.workspace, world.slug).filter((r) => r.commit === commit.hash).length;
    const delivered = outbox.filter((o) => o.commit === commit.hash && o.status === "delivered").length;
    assert.ok(posted >= delivered && posted <= delivered + 2, `${posted} statuses posted for ${delivered} delivered rows`);
    assert.ok(lb.forwarded.get(b.url)! > 0 && lb.forwarded.get(a.url)! > 0, "the balancer used both processes");
  });
});

/** Mount points below `dir`. */
function mountsUnder(dir: string): string[] {
  return fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4]).filter((p): p is string => typeof p === "string" && p.startsWith(`${dir}/`));
}
