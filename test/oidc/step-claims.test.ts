import assert from "node:assert/strict";
import { stepTokenClaims, type StepTokenSubject } from "../../src/oidc/step-claims";
import { deploymentEnvironmentUuid, nameUuid, pipelineUuid, repositoryUuid, stepUuid, workspaceUuid } from "../../src/oidc/step-identity";

const ISS = "https://pipelines.example.com/oidc/workspaces/7";
const NOW = new Date("2030-01-01T12:00:00Z");
const HOUR = 3_600_000;

const cloud: StepTokenSubject = {
  tenant: { id: 7, principalUuid: "{A1B2C3D4-0000-4000-8000-000000000001}" },
  app: { id: 3, repositoryUuid: "{a1b2c3d4-0000-4000-8000-0000000000aa}" },
  build: { id: 41, refType: "branch", refName: "main" },
  step: { index: 2, maxTimeMinutes: 120, audiences: [] },
};

/** The claims a step token carries, as Bitbucket forms them, for every kind of build and workspace. */
describe("step token claims", () => {
  it("a Cloud workspace's build of a branch: Bitbucket's uuids, sub {repository}:{step}, the workspace audience", () => {
    const c = stepTokenClaims(ISS, cloud, NOW, HOUR);
    assert.deepEqual(c, {
      iss: ISS,
      sub: `{a1b2c3d4-0000-4000-8000-0000000000aa}:${stepUuid(41, 2)}`,
      aud: "ari:cloud:bitbucket::workspace/a1b2c3d4-0000-4000-8000-000000000001",
      iat: NOW.getTime() / 1000,
      exp: NOW.getTime() / 1000 + 3600,
      workspaceUuid: "{a1b2c3d4-0000-4000-8000-000000000001}",
      repositoryUuid: "{a1b2c3d4-0000-4000-8000-0000000000aa}",
      pipelineUuid: pipelineUuid(41),
      stepUuid: stepUuid(41, 2),
      branchName: "main",
    });
  });

  it("a tag build has no branchName; a pull request's names its source branch", () => {
    assert.equal(stepTokenClaims(ISS, { ...cloud, build: { id: 41, refType: "tag", refName: "v1.0" } }, NOW, HOUR).branchName, undefined);
    assert.equal(stepTokenClaims(ISS, { ...cloud, build: { id: 41, refType: "pull-request", refName: "feature/x" } }, NOW, HOUR).branchName, "feature/x");
  });

  it("a deployment: the environment's uuid between repository and step, stable per repository and name", () => {
    const c = stepTokenClaims(ISS, { ...cloud, step: { ...cloud.step, deployment: "staging" } }, NOW, HOUR);
    const env = deploymentEnvironmentUuid(3, "staging");
    assert.equal(c.sub, `{a1b2c3d4-0000-4000-8000-0000000000aa}:${env}:${stepUuid(41, 2)}`);
    assert.equal(c.deploymentEnvironmentUuid, env);
    assert.equal(c.deploymentEnvironment, "staging");
    assert.notEqual(deploymentEnvironmentUuid(3, "production"), env);
    assert.notEqual(deploymentEnvironmentUuid(4, "staging"), env);
  });

  it("expiry: the step's max-time when shorter than an hour", () => {
    const c = stepTokenClaims(ISS, { ...cloud, step: { ...cloud.step, maxTimeMinutes: 10 } }, NOW, HOUR);
    assert.equal(c.exp - c.iat, 600);
  });

  it("audiences: the step's replace the default, duplicates and empty ones dropped", () => {
    assert.equal(stepTokenClaims(ISS, { ...cloud, step: { ...cloud.step, audiences: ["sts.amazonaws.com", "", "sts.amazonaws.com"] } }, NOW, HOUR).aud, "sts.amazonaws.com");
    assert.deepEqual(stepTokenClaims(ISS, { ...cloud, step: { ...cloud.step, audiences: ["a", "b"] } }, NOW, HOUR).aud, ["a", "b"]);
  });

  it("a Bitbucket Server connection and its repositories get our own uuids, in Bitbucket's form", () => {
    const server: StepTokenSubject = { ...cloud, tenant: { id: 9, principalUuid: null }, app: { id: 5, repositoryUuid: null } };
    const c = stepTokenClaims(ISS, server, NOW, HOUR);
    assert.equal(c.workspaceUuid, workspaceUuid({ id: 9, principalUuid: null }));
    assert.equal(c.repositoryUuid, repositoryUuid({ id: 5, repositoryUuid: null }));
    assert.equal(c.aud, `ari:cloud:bitbucket::workspace/${c.workspaceUuid.slice(1, -1)}`);
    assert.notEqual(workspaceUuid({ id: 9, principalUuid: null }), workspaceUuid({ id: 10, principalUuid: null }));
  });

  it("our uuids are RFC 4122 version 5, in braces, and differ for different names", () => {
    const u = nameUuid("build:1");
    assert.match(u, /^\{[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\}$/);
    // The same as Python's uuid.uuid5(UUID("5b0c7d3e-2f4a-5e61-9b8d-7c1a3e5f9d20"), "build:1").
    assert.equal(u, "{e2c1bc6d-9106-549a-94aa-63b1cbe936a6}");
    assert.notEqual(pipelineUuid(1), pipelineUuid(2));
    assert.notEqual(stepUuid(1, 0), stepUuid(1, 1));
    assert.notEqual(stepUuid(1, 0), pipelineUuid(1));
  });
});
