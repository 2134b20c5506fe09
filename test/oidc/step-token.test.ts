import assert from "node:assert/strict";
import request from "supertest";
import type { JWTPayload } from "jose";
import { HttpRunnerProtocol } from "../../src/runner/http-runner-protocol";
import type { JobSpec } from "../../src/runner/runner-protocol";
import { pipelineUuid, stepUuid } from "../../src/oidc/step-identity";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { buildReaches, installWorld, type World } from "../support/build-world";
import { startTestServer, type TestServer } from "../support/test-server";
import { createRunnerToken } from "../runner-api/support";
import { mintToken } from "../support/connect-tokens";

// jose is ESM only; Node 20.19 loads it through require.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose = require("jose") as typeof import("jose");

const PIPELINE = `pipelines:
  default:
    - step:
        name: Assume role
        oidc: true
        script:
          - echo "role"
    - step:
        name: Deploy
        deployment: production
        oidc: true
        max-time: 5
        script:
          - echo "deploy"
    - step:
        name: Lint
        script:
          - echo "no token here"
`;

/** What a relying party (AWS, GCP, Vault…) does with an issuer URL: discovery, then the JWKS it names. */
async function relyingParty(issuer: string) {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  const config = (await res.json()) as { issuer: string; jwks_uri: string };
  assert.equal(config.issuer, issuer, "the document names the issuer it was fetched from");
  return { config, keys: jose.createRemoteJWKSet(new URL(config.jwks_uri)) };
}

/** The discovery + JWKS of each workspace's issuer, and tokens signed by it for steps that ask for one. */
describe("OIDC tokens for steps: a relying party discovers the workspace's issuer and verifies them", function () {
  this.timeout(60_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let runner: HttpRunnerProtocol;
  let runnerToken: string;
  let a: World;
  let b: World;

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer({ PIPELINES_IN_PROCESS_RUNNER: "false" });
    runnerToken = await createRunnerToken(server.env, "oidc-test");
    runner = new HttpRunnerProtocol({ server: server.url, token: runnerToken });
    a = await installWorld(bb, server, "oidca");
    b = await installWorld(bb, server, "oidcb");
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  const tenantOf = async (w: World) => {
    const tenant = await server.storage.models.Tenant.findOne({ where: { clientKey: w.clientKey } });
    assert.ok(tenant);
    return tenant;
  };
  const issuerOf = async (w: World) => `${server.url}/oidc/workspaces/${(await tenantOf(w)).id}`;

  /** Pushes the pipeline to `w`, claims its job over the runner API and starts its three steps. */
  async function runSteps(w: World): Promise<{ spec: JobSpec; answers: Array<{ stop: boolean; oidcToken?: string }> }> {
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": PIPELINE }, message: "oidc" });
    await buildReaches(server, w.applicationId, commit.hash, ["QUEUED"]);
    const spec = await runner.claim("box");
    assert.ok(spec, "a job to claim");
    assert.equal(spec.build.commit, commit.hash);
    const answers = [];
    for (const index of [0, 1, 2]) answers.push(await runner.stepStarted(spec, index));
    return { spec, answers };
  }

  let specA: JobSpec;
  let tokenA: string;
  let deployTokenA: string;
  let tokenB: string;

  it("a step with oidc: true gets a token when it starts; a step without gets none", async () => {
    const ranA = await runSteps(a);
    specA = ranA.spec;
    assert.deepEqual(ranA.answers.map((x) => [x.stop, typeof x.oidcToken]), [
      [false, "string"],
      [false, "string"],
      [false, "undefined"],
    ]);
    tokenA = ranA.answers[0].oidcToken as string;
    deployTokenA = ranA.answers[1].oidcToken as string;
    assert.notEqual(tokenA, deployTokenA);
    const ranB = await runSteps(b);
    tokenB = ranB.answers[0].oidcToken as string;
    assert.equal(typeof tokenB, "string");

    // On the wire: the runner API answers no-store, and the step without oidc has no oidcToken at all.
    const api = request(server.url);
    const auth = `Bearer ${runnerToken}`;
    const withToken = await api.post(`/runner/jobs/${specA.jobId}/steps/0/start`).set("Authorization", auth).send({ leaseToken: specA.leaseToken });
    assert.equal(withToken.status, 200);
    assert.equal(withToken.headers["cache-control"], "no-store");
    assert.equal(typeof withToken.body.oidcToken, "string");
    const without = await api.post(`/runner/jobs/${specA.jobId}/steps/2/start`).set("Authorization", auth).send({ leaseToken: specA.leaseToken });
    assert.deepEqual(without.body, { stop: false });
  });

  it("discovery names the issuer, RS256 and the claims; the JWKS holds public keys only, with kid, alg and use; both are cacheable briefly", async () => {
    const issuer = await issuerOf(a);
    const discovery = await request(server.url).get(new URL(issuer).pathname + "/.well-known/openid-configuration");
    assert.equal(discovery.status, 200);
    assert.match(discovery.headers["cache-control"], /^public, max-age=\d+$/);
    assert.deepEqual(
      { ...discovery.body, claims_supported: undefined },
      {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        response_types_supported: ["id_token"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        scopes_supported: ["openid"],
        claims_supported: undefined,
      },
    );
    for (const claim of ["sub", "aud", "workspaceUuid", "repositoryUuid", "pipelineUuid", "stepUuid", "branchName", "deploymentEnvironmentUuid"]) {
      assert.ok(discovery.body.claims_supported.includes(claim), claim);
    }
    const jwks = await request(server.url).get(new URL(issuer).pathname + "/.well-known/jwks.json");
    assert.equal(jwks.status, 200);
    assert.match(jwks.headers["content-type"], /^application\/jwk-set\+json/);
    assert.match(jwks.headers["cache-control"], /^public, max-age=\d+$/);
    const body = JSON.parse(jwks.text) as { keys: Array<Record<string, string>> };
    assert.equal(body.keys.length, 1);
    assert.deepEqual(Object.keys(body.keys[0]).sort(), ["alg", "e", "kid", "kty", "n", "use"]);
    assert.deepEqual([body.keys[0].kty, body.keys[0].alg, body.keys[0].use], ["RSA", "RS256", "sig"]);
    assert.equal(jose.decodeProtectedHeader(tokenA).kid, body.keys[0].kid);
    // Bitbucket's own path for the keys answers the same set.
    const bitbucketPath = await request(server.url).get(new URL(issuer).pathname + "/keys.json");
    assert.equal(bitbucketPath.text, jwks.text);
  });

  it("verifies with jose: issuer, default audience, sub, the workspace/repository/pipeline/step uuids, branch, expiry within the hour", async () => {
    const issuer = await issuerOf(a);
    const tenant = await tenantOf(a);
    const app = await server.storage.models.Application.findByPk(a.applicationId);
    assert.ok(tenant.principalUuid && app?.repositoryUuid);
    const rp = await relyingParty(issuer);
    const audience = `ari:cloud:bitbucket::workspace/${tenant.principalUuid.replace(/[{}]/g, "")}`;
    const { payload, protectedHeader } = await jose.jwtVerify(tokenA, rp.keys, { issuer, audience, algorithms: ["RS256"] });
    assert.equal(protectedHeader.alg, "RS256");
    assert.equal(protectedHeader.typ, "JWT");
    const step = stepUuid(specA.build.id, 0);
    assert.equal(payload.aud, audience);
    assert.equal(payload.sub, `${app.repositoryUuid}:${step}`);
    assert.equal(payload.workspaceUuid, tenant.principalUuid, "the workspace uuid Bitbucket gave the installation");
    assert.equal(payload.repositoryUuid, app.repositoryUuid, "the repository uuid Bitbucket shows");
    assert.equal(payload.pipelineUuid, pipelineUuid(specA.build.id));
    assert.equal(payload.pipelineUuid, specA.env.BITBUCKET_PIPELINE_UUID, "the same uuid the step sees as BITBUCKET_PIPELINE_UUID");
    assert.equal(payload.stepUuid, step);
    assert.equal(payload.branchName, specA.build.refName);
    assert.equal(payload.deploymentEnvironmentUuid, undefined);
    assertLifetime(payload, 60 * 60);
    for (const v of [payload.workspaceUuid, payload.repositoryUuid, payload.pipelineUuid, payload.stepUuid]) assert.match(String(v), /^\{[0-9a-f-]{36}\}$/);
  });

  it("a deployment step's sub names the environment between repository and step; the token ends with the step's max-time", async () => {
    const issuer = await issuerOf(a);
    const tenant = await tenantOf(a);
    const rp = await relyingParty(issuer);
    const { payload } = await jose.jwtVerify(deployTokenA, rp.keys, { issuer, audience: `ari:cloud:bitbucket::workspace/${tenant.principalUuid?.replace(/[{}]/g, "")}` });
    const env = payload.deploymentEnvironmentUuid as string;
    assert.match(env, /^\{[0-9a-f-]{36}\}$/);
    assert.equal(payload.deploymentEnvironment, "production");
    assert.equal(payload.sub, `${payload.repositoryUuid as string}:${env}:${stepUuid(specA.build.id, 1)}`);
    assertLifetime(payload, 5 * 60);
    // The environment's uuid is stable: the next build's deployment step is named the same way.
    const again = await server.engine.ctx.oidc.mintStepToken({
      tenant,
      app: (await server.storage.models.Application.findByPk(a.applicationId))!,
      build: { id: specA.build.id + 1000, refType: "branch", refName: "main" },
      step: { index: 4, deployment: "production", maxTimeMinutes: 120, audiences: [] },
    });
    assert.equal(jose.decodeJwt(again).deploymentEnvironmentUuid, env);
  });

  it("a step's audiences replace the default: one is a string, several a list", async () => {
    const issuer = await issuerOf(a);
    const tenant = await tenantOf(a);
    const app = (await server.storage.models.Application.findByPk(a.applicationId))!;
    const rp = await relyingParty(issuer);
    const mint = (audiences: string[]) =>
      server.engine.ctx.oidc.mintStepToken({ tenant, app, build: { id: specA.build.id, refType: "branch", refName: "main" }, step: { index: 0, maxTimeMinutes: 120, audiences } });
    const one = await jose.jwtVerify(await mint(["sts.amazonaws.com"]), rp.keys, { issuer, audience: "sts.amazonaws.com" });
    assert.equal(one.payload.aud, "sts.amazonaws.com");
    const several = await mint(["https://vault.example.com", "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/bb"]);
    const verified = await jose.jwtVerify(several, rp.keys, { issuer, audience: "https://vault.example.com" });
    assert.deepEqual(verified.payload.aud, ["https://vault.example.com", "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/bb"]);
    await assert.rejects(jose.jwtVerify(several, rp.keys, { issuer, audience: `ari:cloud:bitbucket::workspace/${tenant.principalUuid?.replace(/[{}]/g, "")}` }), { code: "ERR_JWT_CLAIM_VALIDATION_FAILED" });
  });

  it("the workspace's configure page shows the identity provider URL and audience its tokens carry", async () => {
    const jwt = mintToken({ clientKey: a.clientKey, secret: bb.currentSecret(a.clientKey) ?? a.secret, method: "GET", path: "/pages/configure" });
    const res = await request(server.url).get(`/pages/configure?jwt=${jwt}`);
    assert.equal(res.status, 200);
    const claims = jose.decodeJwt(tokenA);
    const valueOf = (id: string) => new RegExp(`id="${id}"[^>]*value="([^"]*)"`).exec(res.text)?.[1]?.replace(/&#x3D;/g, "=").replace(/&#x2F;/g, "/");
    assert.equal(valueOf("oidc-issuer"), claims.iss);
    assert.equal(valueOf("oidc-audience"), claims.aud);
  });

  it("rejects a token of another workspace's issuer (other iss, other keys), and a tampered one", async () => {
    const issuerA = await issuerOf(a);
    const issuerB = await issuerOf(b);
    assert.notEqual(issuerA, issuerB);
    const rpA = await relyingParty(issuerA);
    const rpB = await relyingParty(issuerB);
    // B's own token verifies with B's issuer…
    assert.equal((await jose.jwtVerify(tokenB, rpB.keys, { issuer: issuerB })).payload.iss, issuerB);
    // …A's does not: not its issuer, and not even signed by one of its keys.
    await assert.rejects(jose.jwtVerify(tokenA, rpB.keys, { issuer: issuerB }), (err: { code?: string }) => err.code === "ERR_JWKS_NO_MATCHING_KEY");
    await assert.rejects(jose.jwtVerify(tokenB, rpA.keys, { issuer: issuerA }), (err: { code?: string }) => err.code === "ERR_JWKS_NO_MATCHING_KEY");
    const jwksA = (await (await fetch(rpA.config.jwks_uri)).json()) as { keys: Array<{ kid: string }> };
    const jwksB = (await (await fetch(rpB.config.jwks_uri)).json()) as { keys: Array<{ kid: string }> };
    assert.ok(!jwksA.keys.some((k) => jwksB.keys.some((kb) => kb.kid === k.kid)), "no key is shared between issuers");
    // Even with A's kid put on it, B's token does not verify with A's keys; nor does A's token claim B's issuer.
    const [, payloadB, signatureB] = tokenB.split(".");
    const relabelled = `${tokenA.split(".")[0]}.${payloadB}.${signatureB}`;
    await assert.rejects(jose.jwtVerify(relabelled, rpA.keys), { code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
    await assert.rejects(jose.jwtVerify(tokenA, rpA.keys, { issuer: issuerB }), { code: "ERR_JWT_CLAIM_VALIDATION_FAILED" });

    // Tampered: another sub with the original signature; or a changed signature.
    const [header, payload, signature] = tokenA.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: `${String(claims.repositoryUuid)}:{00000000-0000-5000-8000-000000000000}:${String(claims.stepUuid)}` })).toString("base64url");
    await assert.rejects(jose.jwtVerify(`${header}.${forged}.${signature}`, rpA.keys, { issuer: issuerA }), { code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
    const flipped = (signature[5] === "A" ? "B" : "A") + "";
    await assert.rejects(jose.jwtVerify(`${header}.${payload}.${signature.slice(0, 5)}${flipped}${signature.slice(6)}`, rpA.keys, { issuer: issuerA }), { code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
    // An unsigned token claiming the same is refused too.
    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${payload}.`;
    await assert.rejects(jose.jwtVerify(none, rpA.keys, { issuer: issuerA }));
  });

  it("an unknown issuer is a 404, with no authentication asked of any issuer; an uninstalled workspace's issuer is gone with its keys", async () => {
    for (const id of ["999999", "0", "abc", "1e3", "01"]) {
      const res = await request(server.url).get(`/oidc/workspaces/${id}/.well-known/openid-configuration`);
      assert.equal(res.status, 404, id);
      assert.equal((await request(server.url).get(`/oidc/workspaces/${id}/.well-known/jwks.json`)).status, 404, id);
    }
    const tenantB = await tenantOf(b);
    assert.ok((await server.storage.models.OidcSigningKey.count({ where: { tenantId: tenantB.id } })) > 0);
    const res = await bb.uninstall(server.url, b.clientKey);
    assert.equal(res.status, 204);
    const issuerB = await issuerOf(b);
    assert.equal((await fetch(`${issuerB}/.well-known/openid-configuration`)).status, 404);
    assert.equal((await fetch(`${issuerB}/.well-known/jwks.json`)).status, 404);
    assert.equal(await server.storage.models.OidcSigningKey.count({ where: { tenantId: tenantB.id } }), 0, "its private keys are deleted");
  });

  it("no token and no private key ever reaches the log", async () => {
    assert.ok(server.logs.length > 0);
    for (const t of [tokenA, deployTokenA, tokenB]) {
      const signature = t.split(".")[2];
      assert.ok(!server.logs.some((l) => l.includes(signature)), "a token's signature is in the log");
    }
    assert.ok(!server.logs.some((l) => l.includes("PRIVATE KEY")));
  });
});

function assertLifetime(payload: JWTPayload, seconds: number): void {
  assert.ok(typeof payload.iat === "number" && typeof payload.exp === "number");
  assert.equal(payload.exp - payload.iat, seconds);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(payload.iat - now) < 60, "issued now");
}
