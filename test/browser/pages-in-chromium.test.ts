import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches } from "../support/build-world";
import { installWorkspace, type Workspace } from "../pages/pages-support";
import { appFrame, clearResults, launchChromium, pagePerTest, screenshot, type Chromium } from "./browser-support";

const APP_KEY = "pipelines-for-bitbucket";
const GREETING = "hello from the browser test";
const PIPELINE = `pipelines:
  default:
    - step:
        name: Greet
        script:
          - echo "${GREETING}"
          - 'printf "\\033[32mgreen line\\033[0m\\n"'
`;
const LONG_PIPELINE = `pipelines:
  default:
    - step:
        name: Long
        script:
          - echo "long step started"
          - sleep 60
`;

/**
 * The pages in a real browser (Debian's chromium through playwright-core), framed by the Bitbucket stand-in's host page
 * the way Bitbucket frames them, with the stand-in's all.js giving them context tokens.
 */
describe("pages in chromium, framed by the Bitbucket stand-in", function () {
  this.timeout(60_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let browser: Chromium;
  let page: Page;
  let a: Workspace;
  let firstBuildId = 0;

  before(async () => {
    clearResults();
    browser = await launchChromium();
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer();
    a = await installWorkspace(bb, server, "browser-a");
  });
  pagePerTest(() => browser, (p) => (page = p));
  after(async () => {
    await browser?.close();
    await server?.stop();
    await bb?.stop();
  });

  const repoUrl = (w: Workspace, as?: Workspace) => `${bb.siteUrl}/${w.workspace}/${w.slug}${as ? `?as=${as.workspace}` : ""}`;
  const buildPageUrl = (w: Workspace, buildId: number, as?: Workspace) =>
    `${bb.siteUrl}/${w.workspace}/${w.slug}/addon/${APP_KEY}/pipelines-builds?build=${buildId}${as ? `&as=${as.workspace}` : ""}`;
  const applicationOf = async (w: Workspace) => server.storage.models.Application.findOne({ where: { repository: `${w.workspace}/${w.slug}` } });
  const noCspViolation = () => assert.deepEqual(browser.consoleErrors.filter((e) => /Content.Security.Policy|Refused to/i.test(e)), []);

  it("the panel: Create application, then a push's build appears; its page streams the log (colours, search)", async () => {
    await page.goto(repoUrl(a));
    const panel = appFrame(page);
    await panel.getByTestId("create-application").click();
    await panel.getByTestId("auto-build-switch").waitFor();
    assert.equal(await panel.getByTestId("auto-build-switch").isChecked(), true);
    await screenshot(page, "1-panel-application-created");
    const app = await applicationOf(a);
    assert.ok(app, "the click created the application");

    const { commit } = await bb.pushAndNotify(server.url, a.clientKey, a.workspace, a.slug, { files: { "bitbucket-pipelines.yml": PIPELINE }, message: "Add pipeline" });
    const build = await buildReaches(server, app.id, commit.hash, ["SUCCESSFUL", "FAILED"], 15_000);
    assert.equal(build.state, "SUCCESSFUL");
    firstBuildId = build.id;
    // The panel refreshes its builds by itself (every 10 s while none runs).
    const line = panel.locator(`[data-testid="recent-build"][data-build-id="${build.id}"]`);
    await line.waitFor({ timeout: 15_000 });
    assert.equal(await line.getAttribute("data-state"), "SUCCESSFUL");
    await screenshot(page, "2-panel-build-appeared");

    // The build's link opens the builds page inside Bitbucket (target=_top), which frames the build.
    await line.click();
    await page.waitForURL(/\/addon\/pipelines-for-bitbucket\/pipelines-builds\?build=/);
    const builds = appFrame(page);
    await builds.locator(`[data-testid="build-view"][data-build-id="${build.id}"][data-state="SUCCESSFUL"]`).waitFor();
    await builds.getByTestId("log-line").filter({ hasText: new RegExp(`^${GREETING}$`) }).waitFor();
    const green = builds.getByTestId("log-line").filter({ hasText: /^green line$/ });
    await green.waitFor();
    assert.equal(await green.locator("span.ansi-fg-2").count(), 1, "the ANSI colour is rendered as a class");
    assert.equal(await builds.getByTestId("step").count(), 1);
    // Search: the command and its output match; every other line is hidden.
    await builds.getByTestId("log-search").fill("green line");
    await builds.getByTestId("log-matches").filter({ hasText: "2 matching lines" }).waitFor();
    assert.equal(await builds.locator('[data-testid="log-line"]:not(.log-hidden)').count(), 2);
    await screenshot(page, "3-build-page-log");
    noCspViolation();
  });

  it("a long step is cancelled from its page while its log streams: STOPPED", async () => {
    const app = await applicationOf(a);
    assert.ok(app);
    const { commit } = await bb.pushAndNotify(server.url, a.clientKey, a.workspace, a.slug, { files: { "bitbucket-pipelines.yml": LONG_PIPELINE }, message: "Long step" });
    const build = await buildReaches(server, app.id, commit.hash, ["RUNNING"], 15_000);
    await page.goto(buildPageUrl(a, build.id));
    const builds = appFrame(page);
    await builds.locator(`[data-testid="build-view"][data-state="RUNNING"]`).waitFor();
    await builds.getByTestId("log-line").filter({ hasText: /^long step started$/ }).waitFor();
    assert.equal(await builds.getByTestId("log-status").textContent(), "Live");
    await screenshot(page, "4-long-step-running");

    await builds.getByTestId("build-cancel").click();
    await builds.getByTestId("cancel-yes").click();
    await builds.locator(`[data-testid="build-view"][data-build-id="${build.id}"][data-state="STOPPED"]`).waitFor();
    await builds.getByTestId("build-rerun").waitFor();
    const stored = await buildReaches(server, app.id, commit.hash, ["STOPPED"], 5_000);
    assert.equal(stored.id, build.id);
    await screenshot(page, "5-long-step-stopped");
    noCspViolation();
  });

  it("the configure page: the workspace's SSH key, added to the Bitbucket account with one click", async () => {
    await page.goto(`${bb.siteUrl}/${a.workspace}/workspace/settings/addon/${APP_KEY}/pipelines-configure`);
    const configure = appFrame(page);
    const key = (await configure.locator("#ssh-public-key").inputValue()).trim();
    assert.match(key, /^ssh-ed25519 [A-Za-z0-9+/=]+/);
    assert.equal(await configure.locator("#configure-no-host").isHidden(), true);
    await configure.locator("#ssh-add-bitbucket").click();
    await configure.locator("#ssh-result.configure-ok").waitFor();
    const added = bb.sshKeys().find((k) => k.clientKey === a.clientKey);
    assert.ok(added, "the stand-in received the key");
    assert.equal(added.key.split(" ").slice(0, 2).join(" "), key.split(" ").slice(0, 2).join(" "));
    await screenshot(page, "6-configure-ssh-key-added");
    noCspViolation();
  });

  it("pages opened with another workspace's token show and change nothing of this one", async () => {
    assert.ok(firstBuildId > 0, "the first test made a build");
    const b = await installWorkspace(bb, server, "browser-b");

    // B's token on A's repository: no application of A, and "Create application" is refused.
    await page.goto(repoUrl(a, b));
    const panel = appFrame(page);
    await panel.getByTestId("not-an-application").waitFor();
    await panel.getByTestId("create-application").click();
    const message = panel.locator('[data-testid="message"].error');
    await message.waitFor();
    assert.ok(((await message.textContent()) ?? "").length > 0);
    assert.equal(await server.storage.models.Application.count({ where: { repository: `${a.workspace}/${a.slug}` } }), 1);
    await screenshot(page, "7-other-workspace-panel-refused");

    // B's token on A's build page: nothing of A's build or its log.
    await page.goto(buildPageUrl(a, firstBuildId, b));
    const frame = appFrame(page);
    await frame.getByTestId("not-an-application").waitFor();
    assert.equal(await frame.getByTestId("build-view").count(), 0);
    assert.equal(await frame.getByTestId("log-line").count(), 0);

    // B's own application's page asking for A's build: refused with a 404.
    await page.goto(repoUrl(b));
    await appFrame(page).getByTestId("create-application").click();
    await appFrame(page).getByTestId("auto-build-switch").waitFor();
    const refused = page.waitForResponse((r) => r.url().includes("/pages/builds?"));
    await page.goto(buildPageUrl(b, firstBuildId));
    assert.equal((await refused).status(), 404);
    assert.equal(await appFrame(page).getByTestId("build-view").count(), 0);
    assert.ok(!((await appFrame(page).locator("body").textContent()) ?? "").includes(GREETING));
    await screenshot(page, "8-other-workspace-build-refused");
  });
});
