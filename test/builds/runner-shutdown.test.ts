import assert from "node:assert/strict";
import type { BitbucketCloud } from "../standin/cloud";
import type { TestServer } from "../support/test-server";
import { buildReaches, eventually, installWorld, withStandinAndServer } from "../support/build-world";

describe("a runner that shuts down mid-step", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  withStandinAndServer((b, s) => ((bb = b), (server = s)));

  it("stops the step and gives the job back at once, without using up the build's retry", async () => {
    const w = await installWorld(bb, server);
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, {
      files: { "bitbucket-pipelines.yml": "pipelines:\n  default:\n    - step:\n        name: Long\n        script:\n          - sleep 60\n" },
      message: "long",
    });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["RUNNING"]);
    await eventually("the step running", async () => (await server.storage.models.Step.findOne({ where: { buildId: build.id } }))?.state === "RUNNING");
    const started = Date.now();
    await server.engine.stop();
    assert.ok(Date.now() - started < 5000, "shutdown does not wait for the step");
    await build.reload();
    assert.equal(build.state, "QUEUED");
    assert.equal(build.retries, 0);
    const job = await server.storage.models.Job.findOne({ where: { buildId: build.id } });
    assert.equal(job?.state, "queued");
    const step = await server.storage.models.Step.findOne({ where: { buildId: build.id } });
    assert.equal(step?.state, "PENDING");
  });
});
