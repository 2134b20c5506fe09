import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import type { Page } from "playwright-core";
import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches, eventually } from "../support/build-world";
import { installWorkspace, contextAuth, type Workspace } from "../pages/pages-support";
import { appFrame, launchChromium, pagePerTest, type Chromium } from "./browser-support";
import { appFrameOf, assertAccessible } from "./axe";

const APP_KEY = "pipelines-for-bitbucket";
const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - mkdir -p dist && echo "built by build $BITBUCKET_BUILD_NUMBER" > dist/app.txt
        artifacts:
          upload:
            - name: app
              paths: [dist/**]
    - step:
        name: Flaky test
        script:
          - cat dist/app.txt
          - test "$BITBUCKET_BUILD_NUMBER" != 1
`;

/** A build's artifacts in chromium: listed with sizes, downloaded as tar.gz; "Re-run failed steps" from the page. */
describe("artifacts and Re-run failed steps in chromium", function () {
  this.timeout(90_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let browser: Chromium;
  let page: Page;
  let w: Workspace;
  let buildId = 0;
  let appId = 0;

  before(async () => {
    browser = await launchChromium();
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer();
    w = await installWorkspace(bb, server, "art-browser");
    const res = await request(server.url).post("/api/applications").set("Authorization", contextAuth(w)).send({ repository: `${w.workspace}/${w.slug}` });
    assert.equal(res.status, 201, res.text);
    appId = res.body.id as number;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": PIPELINE }, message: "Flaky" });
    const build = await buildReaches(server, appId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(build.state, "FAILED");
    buildId = build.id;
  });
  pagePerTest(() => browser, (p) => (page = p));
  after(async () => {
    await browser?.close();
    await server?.stop();
    await bb?.stop();
  });

  const buildsUrl = (query = "") => `${bb.siteUrl}/${w.workspace}/${w.slug}/addon/${APP_KEY}/pipelines-builds${query}`;

  it("a step's artifacts are listed with their sizes and download as tar.gz", async () => {
    await page.goto(buildsUrl(`?build=${buildId}`));
    const f = appFrame(page);
    const listed = f.locator('[data-testid="step"][data-step-index="0"] [data-testid="artifact-download"]');
    await listed.waitFor();
    assert.equal(await listed.textContent(), "app.tar.gz");
    assert.match((await f.locator('[data-testid="step"][data-step-index="0"] [data-testid="artifact-size"]').textContent()) ?? "", /^\d+ bytes$/);
    const download = page.waitForEvent("download");
    await listed.click();
    const file = await download;
    assert.match(file.suggestedFilename(), /-build-1-step-1-app\.tar\.gz$/);
    const listing = execFileSync("tar", ["-tzf", await file.path()], { encoding: "utf8" });
    assert.deepEqual(listing.trim().split("\n"), ["dist/app.txt"]);
    await f.locator('[data-testid="message"].success', { hasText: /^Downloaded .*app\.tar\.gz/ }).waitFor();
    // The artifacts list and the Re-run failed steps button pass the audit too.
    await assertAccessible(await appFrameOf(page), "a build's page with artifacts");
  });

  it("Re-run failed steps starts a build that reuses the passed step and says so", async () => {
    await page.goto(buildsUrl(`?build=${buildId}`));
    const f = appFrame(page);
    await f.getByTestId("build-rerun-failed").click();
    await f.locator('[data-testid="message"].success', { hasText: /^Build #2 started: the failed steps of #1 run again; 1 step that passed is reused\./ }).waitFor();
    const rerun = await eventually("the re-run to finish", async () => {
      const b = await server.storage.models.Build.findOne({ where: { applicationId: appId, number: 2 } });
      return b && ["SUCCESSFUL", "FAILED"].includes(b.state) ? b : undefined;
    }, 60_000);
    assert.equal(rerun.state, "SUCCESSFUL");
    await f.locator(`[data-testid="build-view"][data-build-id="${rerun.id}"]`).waitFor();
    await f.locator('[data-testid="build-reused"]', { hasText: 'step "Build" was reused from #1' }).waitFor();
    await f.locator('[data-testid="step"][data-step-index="0"] [data-testid="step-reused"]', { hasText: "reused from #1" }).waitFor();
  });
});
