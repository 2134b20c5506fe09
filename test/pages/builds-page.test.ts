import assert from "node:assert/strict";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { eventually, installWorld, type World } from "../support/build-world";
import { insertBuild } from "../api/api-support";
import type { Application, Build } from "../../src/db/models";
import { decodeHtml, openPage, withContext } from "./pages-support";

const ids = (html: string, testid: string) => [...html.matchAll(new RegExp(`data-testid="${testid}" data-build-id="(\\d+)"`, "g"))].map((m) => Number(m[1]));

/** The builds page: list, filters, keyset pages, chart, a build with its steps, "why did / didn't this run", badge. */
describe("builds page", () => {
  let bb: BitbucketCloud;
  let server: TestServer;
  let w: World;
  let app: Application;
  const builds: Build[] = [];
  let paused: Build;
  let hostile: Build;

  before(async () => {
    bb = await startBitbucketCloud();
    server = await startTestServer();
    w = await installWorld(bb, server, "bp");
    const models = server.storage.models;
    const found = await models.Application.findByPk(w.applicationId);
    assert.ok(found);
    app = found;
    const t0 = Date.now() - 3600_000;
    for (let i = 0; i < 30; i++) {
      const state = i % 7 === 3 ? "FAILED" : i % 11 === 5 ? "STOPPED" : "SUCCESSFUL";
      const startedAt = new Date(t0 + i * 60_000);
      builds.push(await insertBuild(models, app, { state, refName: i % 3 === 0 ? "feature/x" : "main", startedAt, finishedAt: new Date(startedAt.getTime() + (i + 1) * 1000) }));
    }
    paused = await insertBuild(models, app, { state: "PAUSED", refName: "main", warnings: JSON.stringify(["image: node:20 is not used: steps run in a shell on the runner"]), startedAt: new Date(Date.now() - 5000) }, 2);
    await models.Step.update({ state: "SUCCESSFUL", startedAt: new Date(t0), finishedAt: new Date(t0 + 65_000) }, { where: { buildId: paused.id, index: 0 } });
    await models.Step.update({ state: "WAITING", manual: true, name: "Deploy", deployment: "production" }, { where: { buildId: paused.id, index: 1 } });
    hostile = await insertBuild(models, app, {
      state: "FAILED",
      refName: "x<script>alert(1)</script>",
      stateReason: 'step "<img src=x onerror=alert(1)>" failed',
      warnings: JSON.stringify(["<b>bold</b> warning"]),
    });
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });

  const repoPath = () => `${w.workspace}/${w.slug}`;
  const page = (params: Record<string, string> = {}) => openPage(server, w, "/pages/builds", { repoUuid: "{1}", repoPath: repoPath(), ...params });
  const fragment = (params: Record<string, string>) => withContext(server, w, "/fragments/builds", { repoPath: repoPath(), ...params });

  it("lists the newest 25 builds with their status lozenges, and a cursor to older ones", async () => {
    const res = await page();
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, new RegExp(`<h1>Builds of ${repoPath()}</h1>`));
    const rows = ids(res.text, "build-row");
    assert.equal(rows.length, 25);
    assert.deepEqual(rows, [...rows].sort((a, b) => b - a), "newest first");
    assert.equal(rows[0], hostile.id);
    assert.match(res.text, /<span class="lozenge failed" data-testid="build-state">failed<\/span>/);
    assert.match(res.text, /data-testid="builds-next"/);
    assert.doesNotMatch(res.text, /data-testid="build-view"/, "no build is open");
    assert.ok(!res.text.includes(w.secret) && !res.text.includes("jwt"), "no secret or token in the page");
  });

  it("pages through every build once (the list's keyset cursor, through the page and its fragment)", async () => {
    const first = await page();
    const next = decodeHtml(/data-cursor="([^"]+)" data-testid="builds-next"/.exec(first.text)?.[1] ?? "");
    assert.ok(next);
    const second = await fragment({ region: "list", cursor: next });
    assert.equal(second.status, 200, second.text);
    assert.doesNotMatch(second.text, /data-testid="builds-next"/, "the last page");
    assert.match(second.text, /data-testid="builds-newest"/);
    const all = [...ids(first.text, "build-row"), ...ids(second.text, "build-row")];
    assert.equal(new Set(all).size, all.length);
    assert.deepEqual(all.sort((a, b) => a - b), [...builds.map((b) => b.id), paused.id, hostile.id].sort((a, b) => a - b));
    // The page itself takes the cursor too (a signed URL with it).
    const viaPage = await page({ cursor: next });
    assert.deepEqual(ids(viaPage.text, "build-row"), ids(second.text, "build-row"));
  });

  it("filters by branch and state, the chart with it", async () => {
    const res = await page({ branch: "feature/x", state: "FAILED" });
    assert.equal(res.status, 200);
    const expected = builds.filter((b) => b.refName === "feature/x" && b.state === "FAILED").map((b) => b.id).reverse();
    assert.ok(expected.length > 0);
    assert.deepEqual(ids(res.text, "build-row"), expected);
    assert.equal(ids(res.text, "chart-bar").length, expected.length);
    assert.match(res.text, /<option value="FAILED" selected>/);
    assert.match(res.text, /data-testid="filter-branch" value="feature\/x"|value="feature\/x"[^>]*data-testid="filter-branch"/);
    const none = await fragment({ region: "list", branch: "nothing-here" });
    assert.match(none.text, /data-testid="builds-empty"/);
    assert.equal((await page({ state: "BOGUS" })).status, 400);
    assert.equal((await fragment({ region: "nope" })).status, 400);
  });

  it("charts the last 50 builds as inline SVG duration bars coloured by result (oldest first, nothing external)", async () => {
    const res = await fragment({ region: "chart" });
    const svg = /<svg class="chart-svg"[\s\S]*?<\/svg>/.exec(res.text)?.[0] ?? "";
    assert.ok(svg);
    const bars = [...svg.matchAll(/<rect class="bar (\w[\w-]*)" x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" data-testid="chart-bar" data-build-id="(\d+)" data-state="(\w+)"/g)];
    assert.equal(bars.length, 32);
    assert.deepEqual(bars.map((b) => Number(b[5])), bars.map((b) => Number(b[5])).sort((a, b) => a - b), "oldest on the left");
    for (const b of bars) assert.equal(b[1], b[6].toLowerCase(), "the bar's class is its state");
    const longest = bars.find((b) => Number(b[5]) === builds[29].id);
    const shortest = bars.find((b) => Number(b[5]) === builds[0].id);
    assert.ok(longest && shortest && Number(longest[4]) > Number(shortest[4]) * 10, "bar height follows duration");
    assert.doesNotMatch(svg, /style=|<script|href="http(?!:\/\/127\.0\.0\.1)/);
  });

  it("a build's page (?build=, the commit status link): steps, durations, warnings, Cancel and Run for a paused build", async () => {
    const res = await page({ build: String(paused.id) });
    assert.equal(res.status, 200, res.text);
    const view = /<article class="build"[\s\S]*?<\/article>/.exec(res.text)?.[0] ?? "";
    assert.match(view, new RegExp(`data-build-id="${paused.id}" data-number="${paused.number}" data-state="PAUSED" data-finished="false"`));
    const steps = [...res.text.matchAll(/data-testid="step" data-step-index="(\d+)" data-state="(\w+)"/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(steps, [["0", "SUCCESSFUL"], ["1", "WAITING"]]);
    assert.match(res.text, /data-testid="step-duration">1 min 05 s</);
    // A paused build's duration leaves out the wait for its manual step, which is shown on its own.
    assert.match(view, /data-testid="build-wait">\(and [\w ]+ waiting for someone to run a manual step\)</);
    assert.match(res.text, /deploys to production/);
    assert.match(res.text, /data-action="run-step" data-step-index="1" data-testid="step-run"/);
    assert.match(view, /data-testid="build-cancel"/);
    assert.doesNotMatch(view, /data-testid="build-rerun"/);
    assert.match(view, /<li data-testid="build-warning">image: node:20 is not used: steps run in a shell on the runner<\/li>/);
    assert.match(res.text, /data-testid="log-panel"/);
  });

  it("a finished build offers Re-run, not Cancel; the fragment gives the same region", async () => {
    const res = await fragment({ region: "build", build: String(builds[3].id) });
    assert.equal(res.status, 200);
    assert.match(res.text, /data-testid="build-rerun"/);
    assert.doesNotMatch(res.text, /data-testid="build-cancel"/);
    assert.equal(ids(res.text, "build-row").length, 0, "only the regions asked for are filled");
  });

  it("an unknown build is a 404 page that says so", async () => {
    const res = await page({ build: "999999" });
    assert.equal(res.status, 404);
    assert.match(res.text, /data-testid="build-missing">There is no build 999999/);
    assert.equal((await page({ build: "abc" })).status, 404);
  });

  it("whatever a build's data holds is shown as text", async () => {
    const res = await page({ build: String(hostile.id) });
    assert.doesNotMatch(res.text, /<script>alert|<img src=x|<b>bold/);
    assert.match(res.text, /x&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(res.text, /&lt;b&gt;bold&lt;\/b&gt; warning/);
  });

  it("shows the status badge's Markdown snippet for the main branch (and the filtered branch)", async () => {
    const res = await page();
    const snippet = decodeHtml(/data-testid="badge-snippet">([^<]*)</.exec(res.text)?.[1] ?? "");
    const url = `${server.url}/badges/${app.badgeToken}/main.svg`;
    assert.equal(snippet, `[![Pipelines: main](${url})](${bb.siteUrl}/${repoPath()}/addon/pipelines-for-bitbucket/pipelines-builds)`);
    // The page's own image names the build it shows (?v=), so a newly finished build is fetched at once.
    assert.match(decodeHtml(res.text), new RegExp(`<img src="${url.replace(/[.?]/g, "\\$&")}\\?v=[\\w-]+"`));
    const filtered = await fragment({ region: "badge", branch: "feature/x" });
    assert.ok(decodeHtml(filtered.text).includes(`/badges/${app.badgeToken}/feature/x.svg`));
  });

  it('"why did / didn\'t this run": what was decided for each push, and why', async () => {
    assert.match((await page()).text, /data-testid="decisions-empty"/);
    await bb.pushAndNotify(server.url, w.clientKey, w.workspace, w.slug, { files: { "README.md": "x\n" }, message: "docs only [skip ci]" });
    const res = await eventually("the decision on the page", async () => {
      const r = await fragment({ region: "decisions" });
      return r.text.includes('data-testid="decision"') ? r : undefined;
    });
    assert.match(res.text, /data-testid="decision" data-outcome="skipped"/);
    assert.match(res.text, /<td>repo:push<\/td>/);
    assert.match(res.text, /data-testid="decision-reason">[^<]*skip ci/i);
  });

  it("a repository that is not an application says so", async () => {
    await bb.createRepository(w.workspace, "other");
    const res = await openPage(server, w, "/pages/builds", { repoUuid: "{2}", repoPath: `${w.workspace}/other` });
    assert.equal(res.status, 200);
    assert.match(res.text, /data-testid="not-an-application"/);
  });
});
