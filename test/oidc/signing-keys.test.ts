import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import request from "supertest";
import { revealSecret } from "../../src/db/encrypted-fields";
import type { Tenant } from "../../src/db/models";
import { openStorage } from "../../src/db/open-storage";
import { createLogger } from "../../src/log/logger";
import { OidcIssuer } from "../../src/oidc/oidc-issuer";
import { KEY_POLICY } from "../../src/oidc/signing-keys";
import type { StepTokenSubject } from "../../src/oidc/step-claims";
import { startTestServer, type TestServer } from "../support/test-server";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose = require("jose") as typeof import("jose");

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** A workspace's signing keys: one at first whatever the concurrency, sealed at rest, rotated with overlap. */
describe("OIDC signing keys: first use, rotation with overlap, at rest", function () {
  this.timeout(60_000);
  let server: TestServer;
  // The service's clock: the issuer signs and rotates by it; each test moves it.
  let clock = new Date("2030-01-01T00:00:00Z");

  before(async () => {
    server = await startTestServer({ PIPELINES_IN_PROCESS_RUNNER: "false" }, { now: () => clock });
  });
  after(async () => {
    await server?.stop();
  });

  const newTenant = () =>
    server.storage.models.Tenant.create({ kind: "server", clientKey: `server:${randomBytes(6).toString("hex")}`, status: "active", baseUrl: "http://127.0.0.1:9" });
  const subject = (tenant: Tenant): StepTokenSubject => ({
    tenant,
    app: { id: 1, repositoryUuid: null },
    build: { id: 1, refType: "branch", refName: "main" },
    step: { index: 0, maxTimeMinutes: 120, audiences: [] },
  });
  const mint = (tenant: Tenant) => server.engine.ctx.oidc.mintStepToken(subject(tenant));
  const kidOf = (token: string) => jose.decodeProtectedHeader(token).kid;
  /** The kids the issuer's JWKS serves now, fetched over HTTP from the service. */
  const servedKids = async (tenant: Tenant) => {
    const res = await request(server.url).get(`/oidc/workspaces/${tenant.id}/.well-known/jwks.json`);
    assert.equal(res.status, 200);
    return (JSON.parse(res.text) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid).sort();
  };
  const jwksOf = async (tenant: Tenant) => jose.createLocalJWKSet(JSON.parse((await request(server.url).get(`/oidc/workspaces/${tenant.id}/.well-known/jwks.json`)).text));
  const at = (t: Date) => (clock = t);
  const plus = (t: Date, ms: number) => new Date(t.getTime() + ms);

  it("the policy: a key signs for 30 days, its successor is published a day ahead, tokens live at most an hour", () => {
    assert.equal(KEY_POLICY.rotateAfterMs, 30 * DAY);
    assert.equal(KEY_POLICY.prepublishMs, DAY);
    assert.equal(KEY_POLICY.maxTokenLifetimeMs, 60 * MINUTE);
  });

  it("before a workspace's first token its JWKS is empty; concurrent first tokens share one key", async () => {
    const tenant = await newTenant();
    assert.deepEqual(await servedKids(tenant), []);
    const tokens = await Promise.all(Array.from({ length: 8 }, () => mint(tenant)));
    assert.equal(new Set(tokens.map(kidOf)).size, 1);
    assert.equal(await server.storage.models.OidcSigningKey.count({ where: { tenantId: tenant.id } }), 1);
    assert.deepEqual(await servedKids(tenant), [kidOf(tokens[0])]);
  });

  it("two processes minting a workspace's first token at once store one key, and both sign with it", async () => {
    const tenant = await newTenant();
    const other = await openStorage(server.config, createLogger({ test: true }));
    try {
      const otherIssuer = new OidcIssuer({ models: other.models, baseUrl: server.url, now: () => clock });
      const tokens = await Promise.all([mint(tenant), otherIssuer.mintStepToken(subject(tenant)), mint(tenant), otherIssuer.mintStepToken(subject(tenant))]);
      assert.equal(new Set(tokens.map(kidOf)).size, 1, "every token names the same key");
      assert.equal(await server.storage.models.OidcSigningKey.count({ where: { tenantId: tenant.id } }), 1);
      const keys = await jwksOf(tenant);
      for (const t of tokens) await jose.jwtVerify(t, keys, { currentDate: clock });
    } finally {
      await other.close();
    }
  });

  it("a day before a key is 30 days old its successor is published; a day later new tokens use it; the old key is served until its last token expired, then dropped", async () => {
    const t0 = at(new Date("2030-02-01T00:00:00Z"));
    const tenant = await newTenant();
    const first = await mint(tenant);
    const kidA = kidOf(first);
    assert.deepEqual(await servedKids(tenant), [kidA]);

    at(plus(t0, 29 * DAY - MINUTE));
    assert.equal(kidOf(await mint(tenant)), kidA);
    assert.deepEqual(await servedKids(tenant), [kidA], "no successor before it is due");

    // Due within a day: the successor is generated and published now, and signs a day later (30 days and a minute).
    const publishedAt = at(plus(t0, 29 * DAY + MINUTE));
    assert.equal(kidOf(await mint(tenant)), kidA, "the successor does not sign yet");
    const published = await servedKids(tenant);
    assert.equal(published.length, 2, "the successor is in the JWKS before it signs");
    const kidB = published.find((k) => k !== kidA);
    const activation = plus(publishedAt, DAY);

    const lastOfA = at(plus(activation, -1000));
    const tokenA = await mint(tenant);
    assert.equal(kidOf(tokenA), kidA);

    at(plus(activation, 1000));
    const tokenB = await mint(tenant);
    assert.equal(kidOf(tokenB), kidB, "from then on new tokens name the new key");
    assert.deepEqual(await servedKids(tenant), [kidA, kidB].sort());

    // 30 minutes on, A's last token is still valid and still verifies against the served keys.
    at(plus(activation, 30 * MINUTE));
    await jose.jwtVerify(tokenA, await jwksOf(tenant), { currentDate: clock });

    // Once every token A signed has expired (an hour, plus five minutes of leeway), A is no longer served…
    at(plus(activation, 65 * MINUTE - 1000));
    assert.deepEqual(await servedKids(tenant), [kidA, kidB].sort());
    at(plus(activation, 65 * MINUTE));
    assert.deepEqual(await servedKids(tenant), [kidB]);
    await assert.rejects(jose.jwtVerify(tokenA, await jwksOf(tenant), { currentDate: lastOfA }), { code: "ERR_JWKS_NO_MATCHING_KEY" });
    await jose.jwtVerify(await mint(tenant), await jwksOf(tenant), { currentDate: clock });
    // …and its private key is deleted.
    const rows = await server.storage.models.OidcSigningKey.findAll({ where: { tenantId: tenant.id } });
    assert.deepEqual(rows.map((r) => r.kid), [kidB]);
  });

  it("a key older than 30 days whose successor was never published keeps signing one more day while the successor is published", async () => {
    const t0 = at(new Date("2030-06-01T00:00:00Z"));
    const tenant = await newTenant();
    const kidA = kidOf(await mint(tenant));
    const late = at(plus(t0, 45 * DAY));
    assert.equal(kidOf(await mint(tenant)), kidA);
    const served = await servedKids(tenant);
    assert.equal(served.length, 2);
    at(plus(late, DAY - MINUTE));
    assert.equal(kidOf(await mint(tenant)), kidA);
    at(plus(late, DAY + 1000));
    const kidB = kidOf(await mint(tenant));
    assert.notEqual(kidB, kidA);
    assert.deepEqual(served, [kidA, kidB].sort());
  });

  it("the private key is sealed in the database: no PEM in its column, nor anywhere in the database file", async () => {
    at(new Date("2030-09-01T00:00:00Z"));
    const tenant = await newTenant();
    await mint(tenant);
    const [rows] = (await server.storage.models.sequelize.query(`SELECT private_key, public_jwk FROM oidc_signing_keys WHERE tenant_id = ${tenant.id}`)) as [Array<{ private_key: string; public_jwk: string }>, unknown];
    assert.equal(rows.length, 1);
    assert.match(rows[0].private_key, /^v1\./);
    assert.ok(!rows[0].private_key.includes("PRIVATE KEY"));
    const row = await server.storage.models.OidcSigningKey.findOne({ where: { tenantId: tenant.id } });
    const pem = revealSecret(row!, "privateKey") ?? "";
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----/);
    const bodyLine = pem.split("\n")[5];
    assert.ok(bodyLine.length >= 60);
    assert.ok(!JSON.stringify(rows).includes(bodyLine));
    assert.deepEqual(Object.keys(JSON.parse(rows[0].public_jwk) as object).sort(), ["e", "n"], "only the public half is stored in plain text");
    if (server.sqliteFile) {
      const dir = path.dirname(server.sqliteFile);
      for (const f of fs.readdirSync(dir).filter((n) => n.startsWith("pipelines.sqlite"))) {
        assert.equal(fs.readFileSync(path.join(dir, f)).indexOf(bodyLine), -1, `${f} holds the private key`);
      }
    }
  });
});
