import assert from "node:assert/strict";
import { planPipeline, selectPipeline } from "../../src/pipelines";
import { configOf } from "./fixtures";

describe("planPipeline: concurrency-group", () => {
  it("keeps a step's concurrency-group (Bitbucket's keyword) and leaves it off steps without one", () => {
    const config = configOf(
      "pipelines:\n  default:\n    - step:\n        name: Migrate\n        concurrency-group: database\n        script: [migrate]\n    - step:\n        name: Test\n        script: [test]\n",
    );
    const selected = selectPipeline(config, { kind: "branch", branch: "main" });
    assert.ok(selected);
    const plan = planPipeline(config, selected);
    assert.equal(plan.steps[0].concurrencyGroup, "database");
    assert.equal("concurrencyGroup" in plan.steps[1], false);
  });
});
