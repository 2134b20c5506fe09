import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { validate } from "@forge/manifest";
import { parse as parseYaml } from "yaml";
import { PAGE_ASSETS, main } from "../../src/cli/forge-app";

const APP_UUID = "3f1c2b8e-1d2c-4c5e-9a7b-0e1f2a3b4c5d";

/** Atlassian's own manifest validation (the one `forge deploy` runs), in `dir` (resources are relative to it). */
async function validateIn(dir: string) {
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    return await validate(false, "manifest.yml");
  } finally {
    process.chdir(cwd);
  }
}

describe("The Forge app's manifest", function () {
  this.timeout(30_000);
  let out: string;
  const lines: string[] = [];
  before(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), "forge-app-"));
  });
  after(() => fs.rmSync(out, { recursive: true, force: true }));
  beforeEach(async () => {
    fs.rmSync(out, { recursive: true, force: true });
    assert.equal(await main(["manifest", "--app-id", APP_UUID, "--base-url", "https://pipelines.example.org/", "--out", out], { out: () => undefined, err: (l) => lines.push(l) }), 0);
  });

  it("`forge manifest` fills in the app id and the remote, and passes @forge/manifest's full validation", async () => {
    const manifest = fs.readFileSync(path.join(out, "manifest.yml"), "utf8");
    assert.match(manifest, new RegExp(`id: ari:cloud:ecosystem::app/${APP_UUID}\\n`));
    assert.match(manifest, /baseUrl: https:\/\/pipelines\.example\.org\n/);
    assert.doesNotMatch(manifest, /\{\{(APP_ID|BASE_URL)\}\}/);
    const result = await validateIn(out);
    assert.deepEqual(result.errors ?? [], []);
    assert.equal(result.success, true);
  });

  it("the pages inside Bitbucket: the panel, the builds and Deployments pages, the repository settings, each on the remote through the UI endpoint", () => {
    const m = parseYaml(fs.readFileSync(path.join(out, "manifest.yml"), "utf8")) as { modules: Record<string, { key: string; resource?: string; resolver?: { endpoint: string } }[]> };
    const ui = Object.entries(m.modules).flatMap(([type, list]) => (type.startsWith("bitbucket:") ? list.filter((x) => x.resource).map((x) => [type, x.key, x.resource, x.resolver?.endpoint]) : []));
    assert.deepEqual(ui, [
      ["bitbucket:repoCodeOverviewPanel", "pipelines-panel", "pages", "pipelines-ui"],
      ["bitbucket:repoMainMenuPage", "pipelines-builds", "pages", "pipelines-ui"],
      ["bitbucket:repoMainMenuPage", "pipelines-deployments", "pages", "pipelines-ui"],
      ["bitbucket:repoSettingsMenuPage", "pipelines-settings", "pages", "pipelines-ui"],
    ]);
    const endpoint = (m.modules.endpoint as unknown as { key: string; remote: string; auth: { appSystemToken: { enabled: boolean } } }[]).find((e) => e.key === "pipelines-ui");
    assert.deepEqual([endpoint?.remote, endpoint?.auth.appSystemToken.enabled], ["pipelines", true]);
    // The Custom UI knows which page of the remote each module shows.
    const boot = fs.readFileSync(path.join(out, "static", "pages", "forge-boot.js"), "utf8");
    for (const [, key] of ui) assert.match(boot, new RegExp(`"${String(key)}": "`), `forge-boot.js shows a page for ${String(key)}`);
  });

  it("the Custom UI resource is the service's own page scripts and styles, unchanged", () => {
    assert.ok(PAGE_ASSETS.includes("configure.js") && PAGE_ASSETS.includes("deployments.js") && PAGE_ASSETS.includes("schedules.js"));
    for (const f of PAGE_ASSETS) {
      assert.equal(fs.readFileSync(path.join(out, "static", "pages", f), "utf8"), fs.readFileSync(path.join(__dirname, "../../public", f), "utf8"), f);
    }
    assert.ok(fs.existsSync(path.join(out, "static", "pages", "index.html")));
  });

  it("the validation catches a broken manifest (a merge check without triggers)", async () => {
    const file = path.join(out, "manifest.yml");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(["      triggers:", "        - on-code-pushed", "        - on-merge", ""].join("\n"), ""));
    const result = await validateIn(out);
    assert.equal(result.success, false);
    assert.ok((result.errors ?? []).length > 0);
  });

  it("refuses an app id that is not one and a remote that is not https", async () => {
    const errs: string[] = [];
    assert.equal(await main(["manifest", "--app-id", "my-app", "--base-url", "https://x.example"], { out: () => undefined, err: (l) => errs.push(l) }), 2);
    assert.equal(await main(["manifest", "--app-id", APP_UUID, "--base-url", "http://x.example"], { out: () => undefined, err: (l) => errs.push(l) }), 2);
    assert.match(errs.join("\n"), /ari:cloud:ecosystem::app\/<uuid>/);
    assert.match(errs.join("\n"), /https/);
  });
});
