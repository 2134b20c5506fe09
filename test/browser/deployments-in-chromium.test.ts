import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches, installWorld, type World } from "../support/build-world";
import { appFrame, launchChromium, pagePerTest, screenshot, type Chromium } from "./browser-support";

const APP_KEY = "pipelines-for-bitbucket";

/** The Deployments page (a repository page of its own) in chromium, framed by the stand-in like Bitbucket does. */
describe("the Deployments page in chromium", function () {
  this.timeout(90_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let browser: Chromium;
  let page: Page;
  let w: World;

  before(async () => {
    browser = await launchChromium();
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer();
    w = await installWorld(bb, server, "browser-deploy");
  });
  pagePerTest(() => browser, (p) => (page = p));
  after(async () => {
    await browser?.close();
    await server?.stop();
    await bb?.stop();
  });

  it("shows the current deployment of each environment, and Promote for the build waiting to go to Production", async () => {
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, {
      files: {
        "bitbucket-pipelines.yml": "pipelines:\n  default:\n    - step:\n        name: Stage it\n        deployment: staging\n        script: [echo staged]\n    - step:\n        name: Ship it\n        deployment: production\n        trigger: manual\n        script: [echo shipped]\n",
      },
      message: "deploy",
    });
    const build = await buildReaches(server, w.applicationId, commit.hash, ["PAUSED", "FAILED"], 20_000);
    assert.equal(build.state, "PAUSED");

    await page.goto(`${bb.siteUrl}/${w.workspace}/${w.slug}/addon/${APP_KEY}/pipelines-deployments`);
    const frame = appFrame(page);
    const column = (name: string) => frame.locator(`[data-testid="environment"][data-environment="${name}"]`);
    await frame.getByTestId("environments").waitFor();
    assert.deepEqual(await frame.getByTestId("environment").evaluateAll((els) => els.map((e) => e.getAttribute("data-environment"))), ["Test", "Staging", "Production"]);
    const staged = column("Staging").getByTestId("current-deployment");
    assert.equal(await staged.getAttribute("data-state"), "SUCCESSFUL");
    assert.equal(await staged.getAttribute("data-build-id"), String(build.id));
    assert.equal((await staged.getByTestId("deployment-build").textContent())?.trim(), `#${build.number}`);
    assert.equal((await staged.getByTestId("deployment-commit").textContent())?.trim(), commit.hash.slice(0, 12));
    assert.equal((await staged.getByTestId("deployment-by").textContent())?.trim(), "the pipeline");
    await column("Test").getByTestId("current-none").waitFor();
    await column("Production").getByTestId("current-none").waitFor();
    await screenshot(page, "deployments-1-staged");

    // Promote: the production step runs; the page shows it deployed there.
    await column("Staging").getByTestId("promote").click();
    await buildReaches(server, w.applicationId, commit.hash, ["SUCCESSFUL"], 20_000);
    await page.reload();
    const shipped = appFrame(page).locator('[data-testid="environment"][data-environment="Production"] [data-testid="current-deployment"]');
    await shipped.waitFor();
    assert.equal(await shipped.getAttribute("data-state"), "SUCCESSFUL");
    await screenshot(page, "deployments-2-promoted");
    assert.deepEqual(browser.consoleErrors.filter((e) => /Content.Security.Policy|Refused to/i.test(e)), []);

    // The repository panel: each environment's current deployment in one line.
    await page.goto(`${bb.siteUrl}/${w.workspace}/${w.slug}`);
    const line = appFrame(page).locator('[data-testid="panel-deployment"][data-environment="Production"]');
    await line.waitFor();
    assert.match((await line.textContent()) ?? "", new RegExp(`Production: successful #${build.number} ${commit.hash.slice(0, 12)}`));
  });
});
