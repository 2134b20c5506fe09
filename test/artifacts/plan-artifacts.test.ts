import assert from "node:assert/strict";
import { planPipeline, selectPipeline, type Plan } from "../../src/pipelines";
import { downloadable, filesOf, uploadsOf } from "../../src/runner/artifacts";
import { configOf } from "../pipelines/fixtures";

function planOf(text: string): Plan {
  const config = configOf(text);
  const selected = selectPipeline(config, { kind: "branch", branch: "main" });
  assert.ok(selected);
  return planPipeline(config, selected);
}

describe("Bitbucket's artifact options in the plan", () => {
  const plan = planOf(`pipelines:
  default:
    - step:
        name: Plain
        script: [a]
        artifacts: [dist/**]
    - step:
        name: Named
        script: [b]
        artifacts:
          download: [app]
          upload:
            - name: app
              paths: [build/**]
              ignore-paths: [build/tmp/**]
              depth: 2
            - name: logs
              type: scoped
              capture-on: always
              paths: [logs/*.log]
            - name: junit
              type: test-reports
              paths: [reports/*.xml]
    - parallel:
        - step:
            name: Left
            script: [c]
            artifacts:
              download: false
              paths: [left/**]
        - step:
            name: Right
            script: [d]
`);

  it("the plain list and `paths` are one shared upload named artifacts; each `upload` entry is its own, with its type, capture-on, ignore-paths and depth", () => {
    assert.deepEqual(plan.steps[0].artifactUploads, [{ name: "artifacts", paths: ["dist/**"], type: "shared", ignorePaths: [], captureOn: "success" }]);
    assert.deepEqual(plan.steps[1].artifactUploads, [
      { name: "app", paths: ["build/**"], type: "shared", ignorePaths: ["build/tmp/**"], captureOn: "success", depth: 2 },
      { name: "logs", paths: ["logs/*.log"], type: "scoped", ignorePaths: [], captureOn: "always" },
      { name: "junit", paths: ["reports/*.xml"], type: "test-reports", ignorePaths: [], captureOn: "success" },
    ]);
    // Every glob is still listed for the test reports.
    assert.deepEqual(plan.steps[1].artifacts, ["build/**", "logs/*.log", "reports/*.xml"]);
    assert.deepEqual(plan.steps[1].downloadArtifacts, ["app"]);
    assert.equal(plan.steps[2].downloadArtifacts, false);
  });

  it("an upload takes the files its paths match, less its ignore-paths, within its depth", () => {
    const files = ["build/app.js", "build/tmp/cache.bin", "build/deep/er/x.js", "build/deep/y.js", "other.txt"];
    assert.deepEqual(filesOf(files, uploadsOf(plan.steps[1])[0]), ["build/app.js"]);
  });

  it("a step gets the shared artifacts of steps before it (named ones when it lists them), never scoped ones nor a parallel neighbour's", () => {
    const ref = (stepIndex: number, name: string, type: "shared" | "scoped" = "shared", buildId = 7) => ({ id: 1, buildId, stepIndex, name, type, size: 1 });
    const [plain, named, left, right] = plan.steps;
    assert.equal(downloadable(ref(0, "artifacts"), named, plan.steps, 7), false, "not named in download: [app]");
    assert.equal(downloadable(ref(1, "app"), right, plan.steps, 7), true);
    assert.equal(downloadable(ref(1, "logs", "scoped"), right, plan.steps, 7), false);
    assert.equal(downloadable(ref(2, "artifacts"), right, plan.steps, 7), false, "a parallel neighbour's");
    assert.equal(downloadable(ref(1, "app"), left, plan.steps, 7), false, "download: false");
    assert.equal(downloadable(ref(3, "later"), plain, plan.steps, 7), false, "a later step's");
    assert.equal(downloadable(ref(5, "original"), plain, plan.steps, 3), true, "a redeploy gets its original build's, whatever their step");
  });
});
