import assert from "node:assert/strict";
import {
  planPipeline,
  selectPipeline,
  type Plan,
  type PipelineConfig,
  type StepPlan,
  type Trigger,
} from "../../src/pipelines";
import { configOf, fixtureConfig } from "./fixtures";

function planFor(config: PipelineConfig, trigger: Trigger = { kind: "branch", branch: "main" }): Plan {
  const selected = selectPipeline(config, trigger);
  assert.ok(selected, "no pipeline selected");
  return planPipeline(config, selected);
}

function step(plan: Plan, index: number): StepPlan {
  const found = plan.steps[index];
  assert.ok(found, `no step ${index}`);
  return found;
}

describe("planPipeline", () => {
  describe("global settings", () => {
    const pipelines = "pipelines:\n  default:\n    - step:\n        script: [a]\n";

    it("defaults to clone depth 50 and max-time 120", () => {
      const plan = planFor(configOf(pipelines));
      assert.equal(plan.cloneDepth, 50);
      assert.equal(plan.cloneEnabled, true);
      assert.equal(plan.maxTimeMinutes, 120);
      assert.equal(step(plan, 0).maxTimeMinutes, 120);
    });

    it("reads clone.depth (a number, or full → 0) and options.max-time", () => {
      assert.equal(planFor(fixtureConfig("01-ktomk-pipelines.yml")).cloneDepth, 1);
      assert.equal(planFor(fixtureConfig("15-50gramx-eapp-python-implementation.yml")).cloneDepth, 0);
      const plan = planFor(fixtureConfig("19-LinkedInLearning-advanced-bitbucket-pipelines-3925184.yml"));
      assert.equal(plan.maxTimeMinutes, 2);
      assert.equal(step(plan, 0).maxTimeMinutes, 2);
    });

    it("lets an installation change the defaults", () => {
      const config = configOf(pipelines);
      const selected = selectPipeline(config, { kind: "branch", branch: "x" });
      assert.ok(selected);
      const plan = planPipeline(config, selected, { defaultCloneDepth: 10, defaultMaxTimeMinutes: 30 });
      assert.equal(plan.cloneDepth, 10);
      assert.equal(plan.maxTimeMinutes, 30);
    });

    it("reads clone settings per step (fixture 04: depth 2) and clone.enabled", () => {
      const plan = planFor(fixtureConfig("04-4Science-DSpace.yml"), { kind: "branch", branch: "main-cris" });
      assert.equal(step(plan, 1).name, "Install");
      assert.equal(step(plan, 1).cloneDepth, 2);
      assert.equal(step(plan, 0).cloneDepth, undefined);
      const off = planFor(configOf(`clone:\n  enabled: false\npipelines:\n  default:\n    - step: {script: [a]}\n    - step: {clone: {enabled: true}, script: [b]}\n`));
      assert.equal(off.cloneEnabled, false);
      assert.deepEqual(off.steps.map((s) => s.cloneEnabled), [false, true]);
    });
  });

  describe("flattening", () => {
    const config = configOf(`
options:
  max-time: 30
pipelines:
  default:
    - step:
        name: Build
        script: [make]
        after-script: [echo done]
        artifacts: [dist/**]
        caches: [node]
    - parallel:
        - step: { name: Lint, script: [lint] }
        - step: { name: Test, max-time: 5, script: [test] }
    - parallel:
        fail-fast: true
        steps:
          - step: { name: Unit, script: [unit] }
          - step: { name: Slow, fail-fast: false, script: [slow] }
    - stage:
        name: Ship
        deployment: production
        trigger: manual
        condition:
          changesets:
            includePaths: ["src/**"]
        steps:
          - step: { name: Package, script: [pack] }
          - step: { name: Upload, script: [upload] }
    - stage:
        steps:
          - step: { script: [x] }
    - step:
        trigger: manual
        deployment: docs
        condition:
          changesets:
            excludePaths: ["*.md"]
        artifacts:
          download: false
          paths: [site/**]
        script: [publish]
`);
    const plan = planFor(config);

    it("lists steps in run order with 0-based indexes", () => {
      assert.deepEqual(plan.steps.map((s) => [s.index, s.name]), [
        [0, "Build"],
        [1, "Lint"],
        [2, "Test"],
        [3, "Unit"],
        [4, "Slow"],
        [5, "Package"],
        [6, "Upload"],
        [7, "Step 8"],
        [8, "Step 9"],
      ]);
    });

    it("carries script, after-script, artifacts and caches", () => {
      const build = step(plan, 0);
      assert.deepEqual(build.script, ["make"]);
      assert.deepEqual(build.afterScript, ["echo done"]);
      assert.deepEqual(build.artifacts, ["dist/**"]);
      assert.equal(build.downloadArtifacts, true);
      assert.deepEqual(build.caches, ["node"]);
      assert.equal(build.parallelGroup, undefined);
      assert.equal(build.failFast, false);
    });

    it("numbers parallel groups, in both the list and the `steps:` form", () => {
      assert.deepEqual(plan.steps.map((s) => s.parallelGroup), [undefined, 0, 0, 1, 1, undefined, undefined, undefined, undefined]);
    });

    it("applies fail-fast from the group, overridden by the step", () => {
      assert.deepEqual(plan.steps.slice(1, 5).map((s) => s.failFast), [false, false, true, false]);
    });

    it("applies max-time: the step's, else options.max-time", () => {
      assert.deepEqual(plan.steps.slice(0, 3).map((s) => s.maxTimeMinutes), [30, 30, 5]);
    });

    it("groups stage steps: shared deployment and condition; a manual stage waits before its first step", () => {
      assert.deepEqual(plan.stages, [
        { index: 0, name: "Ship", deployment: "production", manual: true, condition: { includePaths: ["src/**"], excludePaths: [] }, stepIndexes: [5, 6] },
        { index: 1, name: "Stage 2", manual: false, stepIndexes: [7] },
      ]);
      const [pack, upload] = [step(plan, 5), step(plan, 6)];
      assert.equal(pack.stageName, "Ship");
      assert.equal(pack.deployment, "production");
      assert.equal(pack.manual, true);
      assert.equal(upload.manual, false);
      assert.deepEqual(upload.condition, { includePaths: ["src/**"], excludePaths: [] });
    });

    it("reads trigger, deployment, condition and the artifacts mapping on a step", () => {
      const last = step(plan, 8);
      assert.equal(last.manual, true);
      assert.equal(last.deployment, "docs");
      assert.deepEqual(last.condition, { includePaths: [], excludePaths: ["*.md"] });
      assert.deepEqual(last.artifacts, ["site/**"]);
      assert.equal(last.downloadArtifacts, false);
      assert.equal(step(plan, 0).manual, false);
    });

    it("has no warnings for steps without images, services or pipes", () => {
      assert.deepEqual(plan.warnings, []);
      assert.ok(plan.steps.every((s) => s.warnings.length === 0));
    });
  });

  describe("what a shell runner cannot honour", () => {
    it("warns once per step about the image and services, global image included", () => {
      const plan = planFor(configOf(`
image: node:20
options:
  docker: true
definitions:
  services:
    postgres:
      image: postgres:16
pipelines:
  default:
    - step: { script: [a] }
    - step: { image: { name: "python:3.12", username: u, password: p }, services: [postgres], script: [b] }
`));
      assert.deepEqual(step(plan, 0).warnings, [], "what an executor ignores is said by the runner, which knows its executor");
      assert.deepEqual(step(plan, 1).image, { name: "python:3.12", username: "u", password: "p" });
      assert.deepEqual(step(plan, 1).services.map((s) => s.name), ["postgres", "docker"]);
      assert.deepEqual(step(plan, 1).warnings, []);
    });

    it("keeps a pipe as a pipe item with its variables, for the runner's executor to run or refuse", () => {
      const plan = planFor(fixtureConfig("12-atlassian-atlascode.yml"), { kind: "custom", name: "build-e2e-image" });
      const only = step(plan, 0);
      assert.equal(only.name, "Build E2E Docker image");
      assert.equal(only.script.length, 2);
      const pipe = only.script[1];
      assert.ok(typeof pipe === "object" && pipe.pipe === "atlassian/docker-push-pipe:2.0.0", JSON.stringify(pipe));
      assert.equal(pipe.variables.IMAGE_NAME, "atlassian/atlascode-e2e");
      assert.deepEqual(only.warnings, []);
    });

    it("fails a child-pipeline step", () => {
      const plan = planFor(configOf(`pipelines:\n  default:\n    - step:\n        type: pipeline\n        custom: other\n`));
      assert.match(String(step(plan, 0).script[0] ?? ""), /child pipelines .* not supported.*exit 1$/);
      assert.equal(step(plan, 0).warnings.length, 1);
    });
  });

  describe("real files", () => {
    it("plans fixture 10's default: steps, after-script, expanded parallel groups, per-step images", () => {
      const plan = planFor(fixtureConfig("10-56kyle-robust-python-demo.yml"), { kind: "branch", branch: "feature/x" });
      assert.equal(plan.steps.length, 2 + 5 + 7);
      assert.deepEqual(step(plan, 0).afterScript, ['echo "Python quality checks completed"']);
      assert.deepEqual(step(plan, 0).caches, ["uv-deps", "pip-deps"]);
      assert.deepEqual([...new Set(plan.steps.map((s) => s.parallelGroup))], [undefined, 0, 1]);
      assert.deepEqual(step(plan, 2).image, { name: "ghcr.io/astral-sh/uv:latest-python3.9-bookworm-slim" });
      assert.ok(plan.steps.every((s) => s.image !== undefined && s.warnings.length === 0), "every step has its image, and no warning (the runner words what its executor ignores)");
    });

    it("plans fixture 06's master branch: a parallel group, then steps, the last manual", () => {
      const plan = planFor(fixtureConfig("06-emmj0-bitbucket-cicd-project.yml"), { kind: "branch", branch: "master" });
      assert.deepEqual(plan.steps.map((s) => [s.name, s.parallelGroup, s.manual]), [
        ["Lint & Format Check", 0, false],
        ["Unit Tests", 0, false],
        ["Integration Tests", undefined, false],
        ["Build Docker Image", undefined, true],
      ]);
      assert.deepEqual(step(plan, 1).artifacts, ["htmlcov/**", "coverage.xml"]);
    });

    it("plans fixture 13: deployments and a quoted manual trigger", () => {
      const plan = planFor(fixtureConfig("13-atlassian-github-for-jira.yml"), { kind: "branch", branch: "ght-test-branch" });
      assert.deepEqual(plan.steps.map((s) => [s.deployment, s.manual]), [
        [undefined, false],
        ["staging", false],
        ["production", true],
      ]);
    });

    it("records fixture 07's changeset condition", () => {
      const plan = planFor(fixtureConfig("07-localazy-bitbucket-pipelines-sample.yml"), { kind: "branch", branch: "develop" });
      assert.deepEqual(step(plan, 0).condition, { includePaths: ["locales/en.json"], excludePaths: [] });
      assert.equal(step(plan, 1).condition, undefined);
    });

    it("skips fixture 04's empty script line and fails at its pipes", () => {
      const plan = planFor(fixtureConfig("04-4Science-DSpace.yml"), { kind: "custom", name: "integration-tests-with-test-jars" });
      assert.equal(step(plan, 0).script.length, 3);
      assert.ok(step(plan, 0).script.every((line) => typeof line === "string" && line !== ""));
      const prod = planFor(fixtureConfig("04-4Science-DSpace.yml"), { kind: "branch", branch: "prod/eu" });
      const push = prod.steps.find((s) => s.name === "Build and Push Docker Image to ECR");
      assert.ok(push);
      const last = push.script[push.script.length - 1];
      assert.ok(typeof last === "object" && /^atlassian\/aws-ecr-push-image|^atlassian\//.test(last.pipe), JSON.stringify(last));
    });

    it("names the single unnamed step Build (fixture 15) and numbers unnamed steps otherwise", () => {
      assert.equal(step(planFor(fixtureConfig("15-50gramx-eapp-python-implementation.yml")), 0).name, "Build");
      const many = planFor(fixtureConfig("02-ktomk-pipelines.yml"), { kind: "custom", name: "lint-php" });
      assert.deepEqual(many.steps.map((s) => s.name), ["Step 1", "Step 2", "Step 3", "Step 4"]);
    });

    it("plans every pipeline of every valid fixture without throwing", () => {
      for (const name of ["01-ktomk-pipelines.yml", "03-4Science-dspace-angular.yml", "04-4Science-DSpace.yml", "12-atlassian-atlascode.yml", "14-1atharvad-n8n-self-hosted.yml"]) {
        const config = fixtureConfig(name);
        for (const customName of Object.keys((config.pipelines.custom as object | undefined) ?? {})) {
          const plan = planFor(config, { kind: "custom", name: customName });
          assert.ok(plan.steps.length > 0, `${name} custom/${customName}`);
          assert.ok(plan.steps.every((s) => s.script.length > 0 || s.warnings.length > 0), `${name} custom/${customName}`);
        }
      }
    });
  });

  describe("pipeline-level warnings", () => {
    it("warns that an imported pipeline cannot run", () => {
      const plan = planFor(configOf("pipelines:\n  branches:\n    main:\n      import: shared:main:build\n"));
      assert.deepEqual(plan.steps, []);
      assert.match(plan.warnings[0] ?? "", /imports the shared pipeline "shared:main:build"/);
    });

    it("skips items it does not understand, saying which", () => {
      const plan = planPipeline(configOf("pipelines:\n  default:\n    - step: {script: [a]}\n"), {
        name: "default",
        key: "default",
        definition: ["oops", { stage: { steps: [{ stage: { steps: [] } }] } }, { step: { script: ["ok"] } }],
      });
      assert.equal(plan.steps.length, 1);
      assert.equal(plan.warnings.length, 2);
      assert.match(plan.warnings[0] ?? "", /default item 1 is not a step/);
    });
  });
});
