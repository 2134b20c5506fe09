import assert from "node:assert/strict";
import fs from "node:fs";
import type { Page } from "playwright-core";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches } from "../support/build-world";
import { installWorkspace, contextAuth, type Workspace } from "../pages/pages-support";
import { appFrame, launchChromium, pagePerTest, screenshot, type Chromium } from "./browser-support";
import { appFrameOf, assertAccessible } from "./axe";
import request from "supertest";

const APP_KEY = "pipelines-for-bitbucket";
const JUNIT = `<testsuite name="calc"><testcase classname="calc" name="adds"/><testcase classname="calc" name="divides"><failure message="expected 2, got 3">at divide (calc.js:7)</failure></testcase><testcase classname="calc" name="rounds"><skipped/></testcase></testsuite>`;
const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo building
    - parallel:
        - step:
            name: Unit tests
            script:
              - mkdir -p test-results
              - printf '%s' '${JUNIT}' > test-results/junit.xml
              - ln -s /etc/passwd test-results/passwd.xml
              - echo "tests ran"
        - step:
            name: Lint
            script:
              - echo linting
    - stage:
        name: Ship
        steps:
          - step:
              name: Package
              script:
                - echo packaging
          - step:
              name: Publish
              script:
                - for i in $(seq 1 300); do echo "publish line $i"; done
`;

/**
 * A build's page in chromium, framed by the Bitbucket stand-in: the steps column (a parallel group, a stage), the
 * selected step's log with timestamps and a download, the Tests tab of a failing JUnit report, the address kept on
 * reload and Back (Connect's AP.history), and an accessibility audit (axe-core) of every page.
 */
describe("a build's page in chromium", function () {
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
    w = await installWorkspace(bb, server, "bp-browser");
    const res = await request(server.url).post("/api/applications").set("Authorization", contextAuth(w)).send({ repository: `${w.workspace}/${w.slug}` });
    assert.equal(res.status, 201, res.text);
    appId = res.body.id as number;
    const { commit } = await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "bitbucket-pipelines.yml": PIPELINE }, message: "Ship the calculator\n\nWith tests." });
    const build = await buildReaches(server, appId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(build.state, "SUCCESSFUL", build.stateReason ?? "");
    buildId = build.id;
  });
  pagePerTest(() => browser, (p) => (page = p));
  after(async () => {
    await browser?.close();
    await server?.stop();
    await bb?.stop();
  });

  const buildsUrl = (query = "") => `${bb.siteUrl}/${w.workspace}/${w.slug}/addon/${APP_KEY}/pipelines-builds${query}`;
  const noCspViolation = () => assert.deepEqual(browser.consoleErrors.filter((e) => /Content.Security.Policy|Refused to/i.test(e)), []);

  it("the steps column: the parallel group as a group, the stage as a stage; a step's log opens beside it", async () => {
    await page.goto(buildsUrl(`?build=${buildId}`));
    const f = appFrame(page);
    await f.locator(`[data-testid="build-view"][data-build-id="${buildId}"]`).waitFor();
    const parallel = f.getByTestId("step-parallel");
    assert.equal(await parallel.count(), 1);
    assert.deepEqual(await parallel.locator(".step-title").allTextContents(), ["Unit tests", "Lint"]);
    const stage = f.locator('[data-testid="step-stage"][data-stage="Ship"]');
    assert.equal(await stage.count(), 1);
    assert.deepEqual(await stage.locator(".step-title").allTextContents(), ["Package", "Publish"]);
    assert.equal(await f.getByTestId("step").count(), 5);
    // Every step says how long it took and when it started.
    assert.equal(await f.locator('[data-testid="step"] time[data-relative]').count(), 5);

    await stage.locator('[data-testid="step-log"]', { hasText: "Package" }).click();
    await f.getByTestId("log-title").filter({ hasText: /^Package$/ }).waitFor();
    await f.getByTestId("log-line").filter({ hasText: /^packaging$/ }).waitFor();
    assert.equal(await stage.locator('[data-testid="step"].selected .step-title').textContent(), "Package");
    // The commit's message and author, linked to Bitbucket.
    assert.equal(await f.getByTestId("build-message").textContent(), "Ship the calculator");
    assert.equal(await f.getByTestId("build-author").textContent(), "Stand-in Developer");
    assert.equal(await f.getByTestId("build-commit-link").getAttribute("href"), `${bb.siteUrl}/${w.workspace}/${w.slug}/commits/${(await server.storage.models.Build.findByPk(buildId))?.commit}`);
    // The runner's set-up lines are said once, in the header, not at the top of every log.
    assert.ok((await f.getByTestId("build-setup").count()) >= 1);
    assert.equal(await f.getByTestId("log-line").filter({ hasText: /^\[pipelines\] executor: / }).count(), 0);
    await screenshot(page, "build-page-steps-column");
    noCspViolation();
  });

  it("the Tests tab shows the failing JUnit report: counts, the failure's message and output; a linked /etc/passwd is never read", async () => {
    await page.goto(buildsUrl(`?build=${buildId}`));
    const f = appFrame(page);
    const tab = f.getByTestId("tab-tests");
    await tab.waitFor();
    assert.equal(await tab.textContent(), "Tests (1 failed)");
    assert.equal(await f.getByTestId("step-tests").textContent(), "1 of 3 tests failed");
    await tab.click();
    assert.equal(await tab.getAttribute("aria-selected"), "true");
    assert.equal(await f.getByTestId("tests-panel").isVisible(), true);
    assert.equal(await f.getByTestId("log-panel").isVisible(), false);
    assert.equal(await f.getByTestId("tests-summary").textContent(), "1 passed, 1 failed, 1 skipped");
    const failure = f.getByTestId("test-failure");
    assert.equal(await failure.count(), 1);
    assert.match((await failure.locator("summary").textContent()) ?? "", /calc › divides\s+expected 2, got 3/);
    await failure.locator("summary").click();
    assert.equal(await failure.getByTestId("test-output").textContent(), "at divide (calc.js:7)");
    await screenshot(page, "build-page-tests-tab");
    // The link to /etc/passwd was neither listed nor read: nothing of it anywhere.
    const everything = (await f.locator("body").textContent()) ?? "";
    assert.doesNotMatch(everything, /root:x:0:0/);
    const statuses = bb.statuses(w.workspace, w.slug).filter((s) => s.state === "SUCCESSFUL");
    assert.ok(statuses.some((s) => /1 test failed/.test(s.description ?? "")), JSON.stringify(statuses.map((s) => s.description)));
    noCspViolation();
  });

  it("timestamps per log line on demand, and the whole log downloaded as a file", async () => {
    await page.goto(buildsUrl(`?build=${buildId}`));
    const f = appFrame(page);
    await f.locator('[data-testid="step-log"]', { hasText: "Publish" }).click();
    await f.getByTestId("log-line").filter({ hasText: /^publish line 300$/ }).waitFor();
    await f.getByTestId("log-timestamps").check();
    assert.match((await f.getByTestId("log").getAttribute("class")) ?? "", /show-times/);
    assert.match((await f.getByTestId("log-line").first().getAttribute("data-time")) ?? "", /^\d\d:\d\d:\d\d$/);

    const download = page.waitForEvent("download");
    await f.getByTestId("log-download").click();
    const file = await download;
    assert.match(file.suggestedFilename(), /-build-\d+-step-5-Publish\.log$/);
    const text = fs.readFileSync(await file.path(), "utf8");
    assert.match(text, /^publish line 1$/m);
    assert.match(text, /^publish line 300$/m);
    // The downloaded log keeps every line, the runner's set-up lines too.
    assert.match(text, /^\[pipelines\] executor: /m);
    await f.locator('[data-testid="message"].success', { hasText: /^Downloaded .*Publish\.log/ }).waitFor();
    noCspViolation();
  });

  it("opening a build and filtering update the address: reload shows the same build and filter, Back the one before", async () => {
    const other = await server.storage.models.Build.create({
      tenantId: (await server.storage.models.Build.findByPk(buildId))!.tenantId,
      applicationId: appId,
      number: 999,
      buildKey: `browser-other-${Date.now()}`,
      trigger: "manual",
      refType: "branch",
      refName: "main",
      commit: "b".repeat(40),
      pipelineName: "custom: nightly",
      pipelineKey: "custom/nightly",
      state: "FAILED",
      startedAt: new Date(Date.now() - 60_000),
      finishedAt: new Date(),
    });
    await page.goto(buildsUrl());
    const f = appFrame(page);
    await f.locator(`[data-testid="build-open"][data-build-id="${buildId}"]`).click();
    await f.locator(`[data-testid="build-view"][data-build-id="${buildId}"]`).waitFor();
    await page.waitForURL(new RegExp(`#!build=${buildId}$`));
    // A custom pipeline is shown as such in the list, never as the branch's own build.
    assert.match((await f.locator(`[data-testid="build-row"][data-build-id="${other.id}"] [data-testid="build-pipeline"]`).textContent()) ?? "", /custom\s+nightly/);
    await f.locator(`[data-testid="build-open"][data-build-id="${other.id}"]`).click();
    await f.locator(`[data-testid="build-view"][data-build-id="${other.id}"]`).waitFor();
    await page.waitForURL(new RegExp(`#!build=${other.id}$`));

    await page.reload();
    const again = appFrame(page);
    await again.locator(`[data-testid="build-view"][data-build-id="${other.id}"]`).waitFor();
    await page.goBack();
    await again.locator(`[data-testid="build-view"][data-build-id="${buildId}"]`).waitFor();

    // Opened from a commit status's link (?build= in the module's address), then another build: a reload shows the other.
    await page.goto(buildsUrl(`?build=${buildId}`));
    const linked = appFrame(page);
    await linked.locator(`[data-testid="build-view"][data-build-id="${buildId}"]`).waitFor();
    await linked.locator(`[data-testid="build-open"][data-build-id="${other.id}"]`).click();
    await page.waitForURL(new RegExp(`#!build=${other.id}$`));
    await page.reload();
    await appFrame(page).locator(`[data-testid="build-view"][data-build-id="${other.id}"]`).waitFor();

    await again.getByTestId("filter-state").selectOption("FAILED");
    await again.getByTestId("filter-apply").click();
    await page.waitForURL(/state=FAILED/);
    await page.reload();
    const filtered = appFrame(page);
    await filtered.locator(`[data-testid="build-row"][data-build-id="${other.id}"]`).waitFor();
    assert.equal(await filtered.getByTestId("filter-state").inputValue(), "FAILED");
    // The list follows the filter the address holds (inside Bitbucket the frame reads it from the host's address).
    await filtered.locator(`[data-testid="build-row"][data-build-id="${buildId}"]`).waitFor({ state: "detached" });
    noCspViolation();
  });

  it("Stop asks first, and every action answers with a message", async () => {
    const running = await server.storage.models.Build.create({
      tenantId: (await server.storage.models.Build.findByPk(buildId))!.tenantId,
      applicationId: appId,
      number: 1000,
      buildKey: `browser-queued-${Date.now()}`,
      trigger: "manual",
      refType: "branch",
      refName: "main",
      commit: "c".repeat(40),
      pipelineName: "default",
      pipelineKey: "default",
      state: "PAUSED",
      startedAt: new Date(),
    });
    await page.goto(buildsUrl(`?build=${running.id}`));
    const f = appFrame(page);
    await f.getByTestId("build-cancel").click();
    await f.getByTestId("cancel-confirm").waitFor();
    await f.getByTestId("cancel-no").click();
    await f.locator('[data-testid="message"]', { hasText: `Build #1000 keeps running.` }).waitFor();
    assert.equal((await running.reload()).state, "PAUSED");
    await f.getByTestId("build-cancel").click();
    await f.getByTestId("cancel-yes").click();
    await f.locator('[data-testid="message"].success', { hasText: "Build #1000 stopped." }).waitFor();
    await f.locator(`[data-testid="build-view"][data-build-id="${running.id}"][data-state="STOPPED"]`).waitFor();
    noCspViolation();
  });

  it("passes an accessibility audit (axe-core): no serious or critical violation on the panel, builds, build and configure pages", async () => {
    await page.goto(`${bb.siteUrl}/${w.workspace}/${w.slug}`);
    const panel = await appFrameOf(page);
    await panel.waitForSelector('[data-testid="recent-builds"]');
    await assertAccessible(panel, "the panel");

    await page.goto(buildsUrl());
    const builds = await appFrameOf(page);
    await builds.waitForSelector('[data-testid="builds-chart"]');
    await assertAccessible(builds, "the builds page");

    await page.goto(buildsUrl(`?build=${buildId}`));
    const build = await appFrameOf(page);
    await build.waitForSelector('[data-testid="log-line"]');
    await assertAccessible(build, "a build's page (log)");
    await build.click('[data-testid="tab-tests"]');
    await assertAccessible(build, "a build's page (tests)");

    await page.goto(`${bb.siteUrl}/${w.workspace}/workspace/settings/addon/${APP_KEY}/pipelines-configure`);
    const configure = await appFrameOf(page);
    await configure.waitForSelector("#ssh-public-key");
    await assertAccessible(configure, "the configure page");
  });
});
