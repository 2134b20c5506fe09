import assert from "node:assert/strict";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches } from "../support/build-world";
import { launchChromium, screenshot, type Chromium } from "../browser/browser-support";
import { assertAccessible } from "../browser/axe";

const KEY = "standin-consumer";
const SECRET = "consumer-secret-standalone-browser";
const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - printf '\\033[32mgreen standalone\\033[0m\\n'
`;

describe("standalone pages in chromium (session, no Bitbucket frame)", function () {
  this.timeout(120_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let chromium: Chromium;

  before(async () => {
    bb = await startBitbucketCloud();
    server = await startTestServer({ PIPELINES_OAUTH_KEY: KEY, PIPELINES_OAUTH_SECRET: SECRET, PIPELINES_BITBUCKET_URL: bb.siteUrl, PIPELINES_BITBUCKET_API_URL: bb.apiUrl });
    bb.oauth.addConsumer(KEY, SECRET, `${server.url}/oauth/callback`);
    await bb.createRepository("web-ws", "site");
    bb.oauth.addUser("carol", ["web-ws"]);
    bb.oauth.loginAs("carol");
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await server?.stop();
    await bb?.stop();
  });

  it("sign in → workspace → repository → Create application → push → build → live log", async () => {
    const page = await chromium.newPage();
    try {
      await page.goto(`${server.url}/app`);
      assert.equal(new URL(page.url()).pathname, "/oauth", "signed out: sent to sign in");
      await assertAccessible(page, "the sign-in page (/oauth)");
      await page.click("#connect");
      // After "Grant access": straight to the workspaces.
      await page.waitForURL(`${server.url}/app`);
      // The sign-in hops (the stand-in's pages) are not under test here: only the standalone pages' errors count.
      chromium.consoleErrors.length = 0;
      await page.waitForSelector('[data-testid="workspaces-page"]');
      await assertAccessible(page, "the workspaces page (/app)");
      await page.click('[data-workspace="web-ws"] a');
      await assertAccessible(page, "a workspace's page");
      await page.click('[data-testid="repository"][data-repository="web-ws/site"]');
      await page.click('[data-testid="create-application"]');
      await page.waitForSelector('[data-testid="auto-build-switch"]');
      assert.match((await page.textContent('[data-testid="message"]')) ?? "", /builds every push/);
      const appId = Number(await page.getAttribute("[data-pipelines-root]", "data-application-id"));

      const { commit } = await bb.oauth.pushAndDeliver("web-ws", "site", { files: { "bitbucket-pipelines.yml": PIPELINE } }, { requestUuid: "web-1" });
      const build = await buildReaches(server, appId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
      assert.equal(build.state, "SUCCESSFUL");

      await page.click('[data-testid="all-builds"]');
      await page.waitForURL(`${server.url}/app/web-ws/site/builds`);
      await page.click(`[data-testid="build-open"][data-build-id="${build.id}"]`);
      const line = page.locator('[data-testid="log-line"]', { hasText: /^green standalone$/ });
      await line.waitFor();
      assert.equal(await line.locator(".ansi-fg-2").count(), 1, "colours as classes");
      await page.locator('[data-testid="log-status"]', { hasText: /successful/i }).waitFor();
      // Opening the build put it in the address: a reload (or a shared link) shows the same build, Back the list.
      await page.waitForURL(`${server.url}/app/web-ws/site/builds?build=${build.id}`);
      await assertAccessible(page, "the standalone build page");
      await page.reload();
      await page.locator(`[data-testid="build-view"][data-build-id="${build.id}"]`).waitFor();
      await page.locator('[data-testid="log-line"]', { hasText: /^green standalone$/ }).waitFor();
      await page.goBack();
      await page.waitForURL(`${server.url}/app/web-ws/site/builds`);
      await page.getByTestId("build-view").waitFor({ state: "detached" });
      await page.goto(`${server.url}/app/web-ws/settings`);
      await assertAccessible(page, "the standalone settings page");
      await page.goto(`${server.url}/oauth/setup`);
      await assertAccessible(page, "the OAuth setup page");
      await screenshot(page, "standalone-builds");
      assert.deepEqual(chromium.consoleErrors, [], "no CSP violation or script error on the standalone pages");
    } finally {
      await page.close();
    }
  });
});
