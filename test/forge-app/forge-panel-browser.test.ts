import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startForgeStandin, type ForgeStandin } from "../standin/forge";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches } from "../support/build-world";
import { launchChromium, screenshot, type Chromium } from "../browser/browser-support";
import { buildCustomUi } from "../../src/cli/forge-app";

const APP_ID = `ari:cloud:ecosystem::app/${randomUUID()}`;
const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - printf '\\033[32mgreen through forge\\033[0m\\n'
`;

describe("the Forge app's pages in chromium (Custom UI hosted by the Forge stand-in)", function () {
  this.timeout(120_000);
  let bb: BitbucketCloud;
  let forge: ForgeStandin;
  let server: TestServer;
  let chromium: Chromium;
  let resourceDir: string;

  before(async () => {
    resourceDir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-ui-"));
    buildCustomUi(resourceDir);
    bb = await startBitbucketCloud();
    const manifest = fs.readFileSync(path.join(__dirname, "../../forge/manifest.yml"), "utf8");
    forge = await startForgeStandin({ cloud: bb, appId: APP_ID, remoteBaseUrl: () => server.url, resourceDir, manifest });
    server = await startTestServer({ PIPELINES_FORGE_APP_ID: APP_ID, PIPELINES_FORGE_JWKS_URL: forge.jwksUrl, PIPELINES_BITBUCKET_URL: bb.siteUrl });
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await server?.stop();
    await forge?.stop();
    await bb?.stop();
    fs.rmSync(resourceDir, { recursive: true, force: true });
  });

  it("panel: Create application → push event → build shown; builds page: the live log (polled through Forge)", async () => {
    await bb.createRepository("ui-ws", "site");
    const inst = await forge.install("ui-ws");
    const context = { repositoryUuid: bb.repositoryUuid("ui-ws", "site") };
    const page = await chromium.newPage();
    try {
      await page.goto(forge.hostPageUrl(inst, "pipelines-panel", context));
      await page.click('[data-testid="create-application"]');
      await page.waitForSelector('[data-testid="auto-build-switch"]');
      assert.match((await page.textContent('[data-testid="message"]')) ?? "", /builds every push/);
      const appId = Number(await page.getAttribute("[data-pipelines-root]", "data-application-id"));

      const commit = await bb.commit("ui-ws", "site", { branch: "main", files: { "bitbucket-pipelines.yml": PIPELINE }, message: "ui" });
      const event = {
        actor: { type: "user", accountId: "557058:dev", uuid: `{${randomUUID()}}` },
        repository: { uuid: context.repositoryUuid, slug: "site" },
        project: { uuid: `{${randomUUID()}}` },
        workspace: { uuid: inst.workspaceUuid },
        push: { ref: "main", mainbranch: true, after: commit.hash, created: false, closed: false, forced: false, truncated: false, commits: [] },
        eventType: "avi:bitbucket:push:repository",
        timestamp: new Date().toISOString(),
      };
      assert.deepEqual(await forge.sendEvent(inst, event), [202]);
      const build = await buildReaches(server, appId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000);
      assert.equal(build.state, "SUCCESSFUL");
      // The panel refreshes its builds through Forge.
      await page.locator(`[data-testid="recent-build"]`).first().waitFor({ timeout: 20_000 });
      await screenshot(page, "forge-panel");

      await page.goto(forge.hostPageUrl(inst, "pipelines-builds", context));
      await page.click(`[data-testid="build-open"][data-build-id="${build.id}"]`);
      const line = page.locator('[data-testid="log-line"]', { hasText: /^green through forge$/ });
      await line.waitFor();
      assert.equal(await line.locator(".ansi-fg-2").count(), 1, "colours as classes");
      await page.locator('[data-testid="log-status"]', { hasText: /successful/i }).waitFor();
      await screenshot(page, "forge-builds");
      assert.deepEqual(chromium.consoleErrors, [], "no CSP violation or script error in the Custom UI");
    } finally {
      await page.close();
    }
  });
});
