import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { Page } from "playwright-core";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startForgeStandin, type ForgeInstall, type ForgeStandin } from "../standin/forge";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches, eventually } from "../support/build-world";
import { launchChromium, screenshot, type Chromium } from "../browser/browser-support";
import { buildCustomUi } from "../../src/cli/forge-app";
import { revealSecret } from "../../src/db/encrypted-fields";

const APP_ID = `ari:cloud:ecosystem::app/${randomUUID()}`;
const ADMIN = "557058:settings-admin";
const DEPLOY = `pipelines:
  default:
    - step:
        name: Stage it
        deployment: staging
        script: [echo staged]
    - step:
        name: Ship it
        deployment: production
        trigger: manual
        script: [echo shipped]
`;

/**
 * The repository settings page (bitbucket:repoSettingsMenuPage) and the Deployments page (a second
 * bitbucket:repoMainMenuPage) of the Forge app in chromium: the Forge stand-in hosts the built Custom UI for the
 * modules the manifest declares and answers the bridge as Forge does; the pages are the configure page's and the
 * Deployments page's views and scripts.
 */
describe("the Forge app's settings and Deployments pages in chromium", function () {
  this.timeout(120_000);
  let bb: BitbucketCloud;
  let forge: ForgeStandin;
  let server: TestServer;
  let chromium: Chromium;
  let resourceDir: string;
  let inst: ForgeInstall;
  let page: Page;
  let appId: number;
  const ws = "set-ws";
  const slug = "svc";
  const context = () => ({ repositoryUuid: bb.repositoryUuid(ws, slug), accountId: ADMIN });

  before(async () => {
    resourceDir = fs.mkdtempSync(path.join(os.tmpdir(), "forge-ui-"));
    buildCustomUi(resourceDir);
    bb = await startBitbucketCloud();
    const manifest = fs.readFileSync(path.join(__dirname, "../../forge/manifest.yml"), "utf8");
    forge = await startForgeStandin({ cloud: bb, appId: APP_ID, remoteBaseUrl: () => server.url, resourceDir, manifest });
    server = await startTestServer({ PIPELINES_FORGE_APP_ID: APP_ID, PIPELINES_FORGE_JWKS_URL: forge.jwksUrl, PIPELINES_BITBUCKET_URL: bb.siteUrl });
    chromium = await launchChromium();
    await bb.createRepository(ws, slug);
    bb.setRepositoryPermission(ws, slug, ADMIN, "admin");
    inst = await forge.install(ws);
    const created = await forge.invokeRemote(inst, { path: "/forge/ui/api/applications", method: "POST", body: { repository: `${ws}/${slug}` } }, context());
    assert.equal(created.status, 201, JSON.stringify(created.body));
    appId = (created.body as { id: number }).id;
  });
  beforeEach(async () => {
    page = await chromium.newPage();
  });
  afterEach(async function () {
    if (this.currentTest?.state === "failed") await screenshot(page, `forge-failed-${this.currentTest.title.slice(0, 40)}`).catch(() => undefined);
    await page.close();
  });
  after(async () => {
    await chromium?.close();
    await server?.stop();
    await forge?.stop();
    await bb?.stop();
    fs.rmSync(resourceDir, { recursive: true, force: true });
  });

  it("settings: switches and branch filter, an application variable, and an admins-only environment's variable set by an admin", async () => {
    const models = server.storage.models;
    // Production takes deployments from admins only (set as the admin, through the same API).
    const restricted = await forge.invokeRemote(inst, { path: `/forge/ui/api/applications/${appId}/environments/Production`, method: "PATCH", body: { adminsOnly: true } }, context());
    assert.equal(restricted.status, 200, JSON.stringify(restricted.body));

    await page.goto(forge.hostPageUrl(inst, "pipelines-settings", context()));
    const settings = page.getByTestId("repository-settings");
    await settings.waitFor();
    assert.match((await settings.locator("h1").textContent()) ?? "", new RegExp(`${ws}/${slug}`));

    // The switches and the branch filter.
    const switches = page.getByTestId("application-switches");
    assert.equal(await page.getByTestId("auto-cancel-setting").isChecked(), true);
    await page.getByTestId("auto-cancel-setting").uncheck();
    await page.getByTestId("branch-filter-setting").fill("release/*");
    await switches.getByRole("button", { name: "Save" }).click();
    await switches.locator(".configure-result", { hasText: /Saved: pushes to release\/\* are built, superseded builds run on\./ }).waitFor();
    const app = await models.Application.findByPk(appId);
    assert.deepEqual([app?.autoBuild, app?.autoCancel, app?.branchFilter], [true, false, "release/*"]);

    // An application variable.
    const variables = page.locator(".configure-variable-form");
    await variables.locator('input[name="name"]').fill("DEPLOY_REGION");
    await variables.locator('input[name="value"]').fill("eu-west-1");
    await variables.getByRole("button", { name: "Add or update" }).click();
    await page.locator('tr[data-name="DEPLOY_REGION"]', { hasText: "eu-west-1" }).waitFor();
    const stored = await models.ApplicationVariable.findOne({ where: { applicationId: appId, name: "DEPLOY_REGION" } });
    assert.equal(stored && revealSecret(stored, "value"), "eu-west-1");

    // A variable of the admins-only environment: Bitbucket says the page's user administers the repository.
    const production = page.locator('tr.environment-variables[data-environment="Production"] form');
    await production.locator('input[name="name"]').fill("DEPLOY_KEY");
    await production.locator('input[name="value"]').fill("prod-secret");
    await production.locator('input[name="secured"]').check();
    await production.getByRole("button", { name: "Set" }).click();
    await page.locator(".environments-result", { hasText: /Set DEPLOY_KEY for Production\./ }).waitFor();
    const env = await models.Environment.findOne({ where: { applicationId: appId, name: "Production" } });
    const key = await models.EnvironmentVariable.findOne({ where: { environmentId: env!.id, name: "DEPLOY_KEY" } });
    assert.equal(key?.secured, true);
    assert.ok(bb.calls.some((c) => c.path === `/2.0/workspaces/${ws}/permissions/repositories/${slug}` && decodeURIComponent(c.query).includes(ADMIN) && c.auth === "bearer"), "Bitbucket was asked about the page's user");
    await screenshot(page, "forge-settings");

    // After a reload the page shows what is stored (the secured value never).
    await page.reload();
    await page.locator('tr[data-name="DEPLOY_REGION"]').waitFor();
    assert.equal(await page.getByTestId("auto-cancel-setting").isChecked(), false);
    assert.equal(await page.getByTestId("branch-filter-setting").inputValue(), "release/*");
    await page.locator('tr.environment-variables[data-environment="Production"] code[data-name="DEPLOY_KEY"]', { hasText: "••••" }).waitFor();
    assert.ok(!(await page.content()).includes("prod-secret"));
    assert.deepEqual(chromium.consoleErrors, [], "no CSP violation or script error in the Custom UI");
  });

  it("Deployments: each environment with what is deployed there; Promote through Forge deploys to Production", async () => {
    for (const [p, body] of [[`/applications/${appId}`, { branchFilter: null }], [`/applications/${appId}/environments/Production`, { adminsOnly: true }]] as const) {
      assert.equal((await forge.invokeRemote(inst, { path: `/forge/ui/api${p}`, method: "PATCH", body }, context())).status, 200);
    }
    const commit = await bb.commit(ws, slug, { branch: "main", files: { "bitbucket-pipelines.yml": DEPLOY }, message: "deploy" });
    const event = {
      actor: { type: "user", accountId: "557058:dev", uuid: `{${randomUUID()}}` },
      repository: { uuid: bb.repositoryUuid(ws, slug), slug },
      workspace: { uuid: inst.workspaceUuid },
      push: { ref: "main", mainbranch: true, after: commit.hash, created: false, closed: false, forced: false, truncated: false, commits: [] },
      eventType: "avi:bitbucket:push:repository",
      timestamp: new Date().toISOString(),
    };
    assert.deepEqual(await forge.sendEvent(inst, event), [202]);
    const build = await buildReaches(server, appId, commit.hash, ["PAUSED", "FAILED"], 60_000);
    assert.equal(build.state, "PAUSED");

    await page.goto(forge.hostPageUrl(inst, "pipelines-deployments", context()));
    await page.getByTestId("environments").waitFor();
    assert.deepEqual(await page.getByTestId("environment").evaluateAll((els) => els.map((e) => e.getAttribute("data-environment"))), ["Test", "Staging", "Production"]);
    const column = (name: string) => page.locator(`[data-testid="environment"][data-environment="${name}"]`);
    const staged = column("Staging").getByTestId("current-deployment");
    assert.equal(await staged.getAttribute("data-state"), "SUCCESSFUL");
    assert.equal(await staged.getAttribute("data-build-id"), String(build.id));
    assert.match((await column("Production").getByTestId("environment-restrictions").textContent()) ?? "", /admins only/);
    await column("Production").getByTestId("current-none").waitFor();
    await screenshot(page, "forge-deployments-1");

    // The admin promotes the build to the admins-only Production (Bitbucket asked with the app's token).
    await column("Staging").getByTestId("promote").click();
    await buildReaches(server, appId, commit.hash, ["SUCCESSFUL"], 60_000);
    // The page refreshes on its own: it may first show the deployment running, then finished.
    const production = column("Production").getByTestId("current-deployment");
    await eventually("Production's deployment shown as finished", async () => ((await production.count()) > 0 && (await production.getAttribute("data-state")) !== "RUNNING") || undefined, 20_000);
    assert.equal(await production.getAttribute("data-state"), "SUCCESSFUL");
    await screenshot(page, "forge-deployments-2");
    assert.deepEqual(chromium.consoleErrors, [], "no CSP violation or script error in the Custom UI");
  });

  it("the stand-in hosts only the UI modules the manifest declares", async () => {
    const res = await fetch(forge.hostPageUrl(inst, "pipelines-nowhere", context()));
    assert.equal(res.status, 404);
    for (const key of ["pipelines-panel", "pipelines-builds", "pipelines-deployments", "pipelines-settings"]) {
      assert.equal((await fetch(forge.hostPageUrl(inst, key, context()))).status, 200, key);
    }
  });
});
