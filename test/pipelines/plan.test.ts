import assert from "node:assert/strict";
import {
  containerWarning,
  planPipeline,
  selectPipeline,
  type Plan,
  type PipeItem,
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

  describe("images, services and pipes: as written, for the runner to judge", () => {
    it("carries the image and the services as specs, without warnings (the runner words them per executor)", () => {
      const plan = planFor(configOf(`
image: node:20
options:
  docker: true
definitions:
  services:
    postgres:
      image: postgres:16
      memory: 512
      variables:
        POSTGRES_PASSWORD: pw
        PORT: 5432
pipelines:
  default:
    - step: { script: [a] }
    - step: { image: { name: "python:3.12", username: u, password: $PASS, run-as-user: 1000 }, services: [postgres], script: [b] }
`));
      assert.deepEqual(step(plan, 0).image, { name: "node:20" });
      assert.deepEqual(step(plan, 0).services, [{ name: "docker", variables: {}, type: "docker" }]);
      assert.deepEqual(step(plan, 1).image, { name: "python:3.12", username: "u", password: "$PASS", runAsUser: 1000 });
      assert.deepEqual(step(plan, 1).services, [
        { name: "postgres", image: { name: "postgres:16" }, variables: { POSTGRES_PASSWORD: "pw", PORT: "5432" }, memoryMb: 512 },
        { name: "docker", variables: {}, type: "docker" },
      ]);
      assert.ok(plan.steps.every((s) => s.warnings.length === 0), JSON.stringify(plan.steps.map((s) => s.warnings)));
      assert.deepEqual(plan.warnings, []);
    });

    it("has no image warning for a real file with a global image (fixture 12)", () => {
      const plan = planFor(fixtureConfig("12-atlassian-atlascode.yml"));
      assert.deepEqual(step(plan, 0).image, { name: "node:20" });
      assert.deepEqual(step(plan, 0).warnings, []);
    });

    it("words what an executor without containers cannot honour, for the runner to use", () => {
      assert.equal(containerWarning("node:20", ["docker"]), 'image "node:20" and service "docker" are ignored: this runner runs steps as shell processes on the host');
      assert.equal(containerWarning("node:20", []), 'image "node:20" is ignored: this runner runs steps as shell processes on the host');
      assert.equal(containerWarning(undefined, ["a", "b"], "the sandbox has no containers"), 'services "a", "b" are ignored: the sandbox has no containers');
      assert.equal(containerWarning(undefined, []), undefined);
    });

    it("turns a `- pipe:` item into a pipe with its variables as written (fixture 12)", () => {
      const plan = planFor(fixtureConfig("12-atlassian-atlascode.yml"), { kind: "custom", name: "build-e2e-image" });
      const only = step(plan, 0);
      assert.equal(only.name, "Build E2E Docker image");
      assert.equal(only.script.length, 2);
      assert.equal(typeof only.script[0], "string");
      assert.deepEqual(only.script[1], { pipe: "atlassian/docker-push-pipe:2.0.0", variables: { IMAGE_NAME: "atlassian/atlascode-e2e", TAGS: "$BITBUCKET_COMMIT latest" } });
      assert.deepEqual(only.warnings, []);
    });

    it("keeps numbers as text and lists as lists in pipe variables; an empty value is left out", () => {
      const plan = planFor(configOf(`pipelines:\n  default:\n    - step:\n        script:\n          - echo before\n          - pipe: "it's/odd:1"\n            variables:\n              PORT: 8080\n              DEBUG: true\n              EXTRA_ARGS: ['--description', 'text with spaces', 3]\n              EMPTY:\n        after-script:\n          - pipe: atlassian/slack-notify:2.0.0\n`));
      assert.deepEqual(step(plan, 0).script, [
        "echo before",
        { pipe: "it's/odd:1", variables: { PORT: "8080", DEBUG: "true", EXTRA_ARGS: ["--description", "text with spaces", "3"] } },
      ]);
      assert.deepEqual(step(plan, 0).afterScript, [{ pipe: "atlassian/slack-notify:2.0.0", variables: {} }]);
    });
  });

  describe("step options an executor needs", () => {
    const config = configOf(`
options:
  size: 2x
  runs-on: [self.hosted, linux]
  oidc:
    audiences: [https://vault.example.com]
pipelines:
  default:
    - step: { name: Defaults, script: [a] }
    - step:
        name: Own
        size: 8x
        runs-on: macos
        oidc: { audiences: [sts.amazonaws.com, api://x] }
        output-variables: [VERSION, IMAGE_TAG]
        on-fail: { strategy: ignore }
        clone: { depth: full, enabled: true }
        script: [b]
    - step: { name: NoToken, oidc: false, on-fail: { strategy: fail }, clone: { depth: 3 }, script: [c] }
    - step: { name: DefaultAudience, oidc: true, script: [d] }
    - parallel:
        on-fail: { strategy: ignore }
        steps:
          - step: { name: Flaky, script: [e] }
          - step: { name: Strict, on-fail: { strategy: fail }, script: [f] }
    - stage:
        on-fail: { strategy: ignore }
        steps:
          - step: { name: InStage, script: [g] }
`);
    const plan = planFor(config);
    const byName = (name: string) => plan.steps.find((s) => s.name === name) as StepPlan;

    it("takes size and runs-on from the step, else from options", () => {
      assert.deepEqual([byName("Defaults").size, byName("Own").size], [2, 8]);
      assert.deepEqual(byName("Defaults").runsOn, ["self.hosted", "linux"]);
      assert.deepEqual(byName("Own").runsOn, ["macos"]);
    });

    it("gives an OIDC token with the step's audiences, else options.oidc's; `oidc: false` gives none", () => {
      assert.deepEqual(byName("Defaults").oidc, { audiences: ["https://vault.example.com"] });
      assert.deepEqual(byName("Own").oidc, { audiences: ["sts.amazonaws.com", "api://x"] });
      assert.equal(byName("NoToken").oidc, undefined);
      assert.deepEqual(byName("DefaultAudience").oidc, { audiences: ["https://vault.example.com"] });
      const bare = planFor(configOf("pipelines:\n  default:\n    - step: {oidc: true, script: [a]}\n    - step: {script: [b]}\n"));
      assert.deepEqual(bare.steps.map((s) => s.oidc), [{ audiences: [] }, undefined]);
    });

    it("lists output variables and reads the failure strategy of the step, its parallel group or its stage", () => {
      assert.deepEqual(byName("Own").outputVariables, ["VERSION", "IMAGE_TAG"]);
      assert.deepEqual(byName("Defaults").outputVariables, []);
      assert.deepEqual(
        ["Defaults", "Own", "NoToken", "Flaky", "Strict", "InStage"].map((n) => byName(n).ignoreFailure),
        [false, true, false, true, false, true],
      );
    });

    it("reads clone depth per step (full → 0)", () => {
      assert.deepEqual([byName("Own").cloneDepth, byName("NoToken").cloneDepth, byName("Defaults").cloneDepth], [0, 3, undefined]);
    });

    it("reads real files: fixture 04's oidc, runs-on labels and sizes, fixture 03's options.runs-on and 4x", () => {
      const prod = planFor(fixtureConfig("04-4Science-DSpace.yml"), { kind: "branch", branch: "prod/eu" });
      const push = prod.steps.find((s) => s.name === "Build and Push Docker Image to ECR");
      assert.ok(push);
      assert.deepEqual(push.oidc, { audiences: [] });
      assert.deepEqual(push.runsOn, ["self.hosted", "linux.arm64", "arm64.group"]);
      assert.equal(push.size, 1);
      assert.deepEqual(push.script[push.script.length - 1], {
        pipe: "atlassian/aws-ecr-push-image:2.5.0",
        variables: { AWS_OIDC_ROLE_ARN: "$AWS_OIDC_ROLE_ARN", AWS_DEFAULT_REGION: "$AWS_REGION", IMAGE_NAME: "dspace-cris", TAGS: "${BRANCH_NAME}-${HASH_COMMIT} ${BRANCH_NAME}-latest" },
      });
      const angular = planFor(fixtureConfig("03-4Science-dspace-angular.yml"), { kind: "branch", branch: "main-cris" });
      assert.ok(angular.steps.every((s) => s.runsOn.join() === "self.hosted"), JSON.stringify(angular.steps.map((s) => s.runsOn)));
      assert.ok(angular.steps.some((s) => s.size === 4), JSON.stringify(angular.steps.map((s) => s.size)));
    });

    it("still fails a child-pipeline step of an unchecked file (validation refuses it before any plan)", () => {
      const plan = planPipeline(configOf("pipelines:\n  default:\n    - step: {script: [a]}\n"), {
        name: "default",
        key: "default",
        definition: [{ step: { type: "pipeline", custom: "other" } }],
      });
      assert.match(String(step(plan, 0).script[0] ?? ""), /child pipelines \(type: pipeline\) are not supported by Pipelines for Bitbucket yet.*exit 1$/);
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
      assert.ok(plan.steps.every((s) => s.image !== undefined && s.warnings.length === 0), "every step has its image, and no warning");
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

    it("skips fixture 04's empty script line and keeps its pipes as pipes", () => {
      const plan = planFor(fixtureConfig("04-4Science-DSpace.yml"), { kind: "custom", name: "integration-tests-with-test-jars" });
      assert.equal(step(plan, 0).script.length, 3);
      assert.ok(step(plan, 0).script.every((line) => typeof line === "string" && line !== ""));
      const prod = planFor(fixtureConfig("04-4Science-DSpace.yml"), { kind: "branch", branch: "prod/eu" });
      const push = prod.steps.find((s) => s.name === "Build and Push Docker Image to ECR");
      assert.ok(push);
      assert.equal((push.script[push.script.length - 1] as PipeItem).pipe, "atlassian/aws-ecr-push-image:2.5.0");
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
    it("says an imported pipeline of an unchecked file cannot run (validation refuses it before any plan)", () => {
      const config: PipelineConfig = { pipelines: { branches: { main: { import: "shared:main:build" } } } };
      const plan = planFor(config);
      assert.deepEqual(plan.steps, []);
      assert.match(plan.warnings[0] ?? "", /shared pipelines \(import: "shared:main:build"\) are not supported by Pipelines for Bitbucket yet/);
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
