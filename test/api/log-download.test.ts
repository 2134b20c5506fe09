import assert from "node:assert/strict";
import request from "supertest";
import { buildReaches, installWorld, withStandinAndServer } from "../support/build-world";
import { startTestServer, type TestServer } from "../support/test-server";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";

/** GET /api/builds/:id/steps/:n/log/download: a step's whole stored log as a file, saying where the log cap cut it. */
describe("a step's log downloaded", function () {
  this.timeout(60_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  withStandinAndServer((b, s) => {
    bb = b;
    server = s;
  });

  it("is the stored log as an attachment named after the repository, build and step; another workspace gets a 404", async () => {
    const w = await installWorld(bb, server, "dl");
    const pipeline = "pipelines:\n  default:\n    - step:\n        name: Unit tests\n        script:\n          - echo one\n          - echo two\n";
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": pipeline }, message: "two lines" });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
    const res = await request(server.url).get(`/api/builds/${build.id}/steps/0/log/download`).set("Authorization", w.auth());
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-disposition"], `attachment; filename="${w.workspace}-app-build-${build.number}-step-1-Unit-tests.log"`);
    assert.equal(res.headers["cache-control"], "no-store");
    assert.match(res.text, /^\[pipelines\] /);
    assert.match(res.text, /\none\n(.*\n)?two\n/);
    assert.doesNotMatch(res.text, /cut at/);
    const other = await installWorld(bb, server, "dl-other");
    assert.equal((await request(server.url).get(`/api/builds/${build.id}/steps/0/log/download`).set("Authorization", other.auth())).status, 404);
  });

  describe("past the log cap", () => {
    let capped: TestServer;
    let cb: BitbucketCloud;
    before(async () => {
      cb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
      capped = await startTestServer({ PIPELINES_LOG_CAP_BYTES: "4096" });
    });
    after(async () => {
      await capped?.stop();
      await cb?.stop();
    });

    it("ends with a note saying where the log was cut and that the rest was counted, not stored", async () => {
      const w = await installWorld(cb, capped, "dlcap");
      const pipeline = "pipelines:\n  default:\n    - step:\n        name: Noisy\n        script:\n          - for i in $(seq 1 2000); do echo \"noise line $i\"; done\n";
      const { commit } = await cb.pushAndNotify(capped.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": pipeline }, message: "noisy" });
      const build = await buildReaches(capped, w.applicationId, commit.hash, ["SUCCESSFUL", "FAILED"]);
      const res = await request(capped.url).get(`/api/builds/${build.id}/steps/0/log/download`).set("Authorization", w.auth());
      assert.equal(res.status, 200);
      assert.match(res.text, /\[pipelines\] log truncated: /);
      assert.match(res.text, /\n--- Pipelines: this log was cut at 4 KiB \(the service's PIPELINES_LOG_CAP_BYTES\): the file holds the first [\d.]+ KiB the step printed; everything it printed after that was counted but not stored\.\n$/);
      assert.doesNotMatch(res.text, /noise line 2000/);
    });
  });
});
