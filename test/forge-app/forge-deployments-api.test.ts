import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startForgeStandin, type ForgeInstall, type ForgeStandin, type UiContext } from "../standin/forge";
import { startTestServer, type TestServer } from "../support/test-server";

const APP_ID = `ari:cloud:ecosystem::app/${randomUUID()}`;
const ADMIN = "557058:forge-admin";
const WRITER = "557058:forge-writer";

/**
 * The deployments and schedules JSON API inside Bitbucket through the Forge app (`/forge/ui/api/…`, what the Deployments
 * and settings pages call): the answers of `/api/…`, scoped to the installation's workspace and to the repository the
 * page is shown for; an admins-only environment's settings only for a person Bitbucket says administers the repository,
 * asked with the app's system token about the invocation token's `principal`.
 */
describe("the deployments and schedules API through the Forge app", function () {
  this.timeout(60_000);
  let bb: BitbucketCloud;
  let forge: ForgeStandin;
  let server: TestServer;
  let a: ForgeInstall;
  let b: ForgeInstall;
  const ids = { app: 0, other: 0, bApp: 0 };
  const ctx = (ws: string, slug: string, accountId = WRITER): UiContext => ({ repositoryUuid: bb.repositoryUuid(ws, slug), accountId });
  const call = (inst: ForgeInstall, method: string, path: string, context: UiContext, body?: unknown) => forge.invokeRemote(inst, { method, path: `/forge/ui/api${path}`, body }, context);
  const errorOf = (r: { body: unknown }) => (r.body as { error?: string }).error ?? "";

  before(async () => {
    bb = await startBitbucketCloud();
    forge = await startForgeStandin({ cloud: bb, appId: APP_ID, remoteBaseUrl: () => server.url });
    server = await startTestServer({ PIPELINES_FORGE_APP_ID: APP_ID, PIPELINES_FORGE_JWKS_URL: forge.jwksUrl, PIPELINES_BITBUCKET_URL: bb.siteUrl });
    for (const [ws, slug] of [["acme-d", "app"], ["acme-d", "other"], ["beta-d", "app"]]) await bb.createRepository(ws, slug);
    a = await forge.install("acme-d");
    b = await forge.install("beta-d");
    for (const [inst, ws, slug, key] of [[a, "acme-d", "app", "app"], [a, "acme-d", "other", "other"], [b, "beta-d", "app", "bApp"]] as const) {
      const created = await call(inst, "POST", "/applications", ctx(ws, slug), { repository: `${ws}/${slug}` });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      ids[key] = (created.body as { id: number }).id;
    }
    bb.setRepositoryPermission("acme-d", "app", ADMIN, "admin");
    bb.setRepositoryPermission("acme-d", "app", WRITER, "write");
  });
  after(async () => {
    await server?.stop();
    await forge?.stop();
    await bb?.stop();
  });

  it("environments, their variables and deployments, and schedules: the API's answers, through Forge", async () => {
    const page = ctx("acme-d", "app");
    const envs = await call(a, "GET", `/applications/${ids.app}/environments`, page);
    assert.equal(envs.status, 200, JSON.stringify(envs.body));
    assert.deepEqual(
      (envs.body as { values: unknown[] }).values,
      [
        { name: "Test", type: "test", rank: 0, restrictions: { branches: [], adminsOnly: false }, current: null },
        { name: "Staging", type: "staging", rank: 1, restrictions: { branches: [], adminsOnly: false }, current: null },
        { name: "Production", type: "production", rank: 2, restrictions: { branches: [], adminsOnly: false }, current: null },
      ],
    );
    const qa = await call(a, "POST", `/applications/${ids.app}/environments`, page, { name: "QA", type: "test" });
    assert.equal(qa.status, 201, JSON.stringify(qa.body));
    assert.equal((await call(a, "POST", `/applications/${ids.app}/environments`, page, { name: "qa", type: "test" })).status, 409);
    assert.deepEqual((await call(a, "GET", `/applications/${ids.app}/environments/QA/deployments`, page)).body, { values: [], next: null });

    assert.equal((await call(a, "PUT", `/applications/${ids.app}/environments/QA/variables/API_URL`, page, { value: "https://qa.example" })).status, 204);
    assert.equal((await call(a, "PUT", `/applications/${ids.app}/environments/QA/variables/QA_TOKEN`, page, { value: "s3cret-qa", secured: true })).status, 204);
    const vars = await call(a, "GET", `/applications/${ids.app}/environments/QA/variables`, page);
    assert.deepEqual((vars.body as { values: unknown[] }).values, [
      { name: "API_URL", secured: false, value: "https://qa.example" },
      { name: "QA_TOKEN", secured: true, value: null },
    ]);
    assert.equal((await call(a, "DELETE", `/applications/${ids.app}/environments/QA`, page)).status, 204);

    const bad = await call(a, "POST", `/applications/${ids.app}/schedules`, page, { branch: "main", cron: "every night" });
    assert.equal(bad.status, 400);
    assert.match(errorOf(bad), /cron/i);
    const made = await call(a, "POST", `/applications/${ids.app}/schedules`, page, { branch: "main", cron: "0 0 2 * * ? *", timezone: "Europe/Berlin" });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const sid = (made.body as { id: number }).id;
    assert.equal((made.body as { timezone: string }).timezone, "Europe/Berlin");
    const off = await call(a, "PATCH", `/applications/${ids.app}/schedules/${sid}`, page, { enabled: false });
    assert.equal((off.body as { enabled: boolean }).enabled, false);
    const list = await call(a, "GET", `/applications/${ids.app}/schedules`, page);
    assert.deepEqual((list.body as { values: { id: number; enabled: boolean }[] }).values.map((s) => [s.id, s.enabled]), [[sid, false]]);
    assert.equal((await call(a, "DELETE", `/applications/${ids.app}/schedules/${sid}`, page)).status, 204);
  });

  it("the settings and Deployments pages show the page's repository only; a repository that is not an application says so", async () => {
    const page = (path: string, context: UiContext) => forge.invokeRemote(a, { method: "GET", path }, context);
    const settings = await page("/forge/ui/pages/settings", ctx("acme-d", "app"));
    assert.equal(settings.status, 200, JSON.stringify(settings.body));
    const body = settings.body as { html: string; scripts: string[]; styles: string[] };
    assert.deepEqual(body.html.match(/data-application-id="\d+"/g)?.filter((v, i, all) => all.indexOf(v) === i), [`data-application-id="${ids.app}"`], "this repository's application only");
    assert.match(body.html, /data-testid="application-switches"/);
    assert.match(body.html, /data-testid="environments-app"/);
    assert.deepEqual([body.scripts, body.styles], [["configure.js", "environments-settings.js"], ["configure.css"]]);
    assert.doesNotMatch(body.html, /<script|<link/, "the page's files come from the app's resource, not from the remote");
    const deployments = await page("/forge/ui/pages/deployments", ctx("acme-d", "app"));
    assert.match((deployments.body as { html: string }).html, new RegExp(`data-application-id="${ids.app}"`));
    assert.deepEqual((deployments.body as { scripts: string[] }).scripts, ["pipelines.js", "deployments.js"]);

    await bb.createRepository("acme-d", "plain");
    for (const p of ["/forge/ui/pages/settings", "/forge/ui/pages/deployments"]) {
      const r = await page(p, ctx("acme-d", "plain"));
      assert.equal(r.status, 200);
      assert.match((r.body as { html: string }).html, /data-testid="not-an-application"/, p);
      assert.doesNotMatch((r.body as { html: string }).html, /data-application-id=/, p);
    }
  });

  it("another workspace's application is a 404, another workspace in the token a 403, another repository of the page's workspace a 403: nothing changes", async () => {
    const models = server.storage.models;
    const before = { vars: await models.EnvironmentVariable.count(), schedules: await models.Schedule.count(), envs: await models.Environment.count() };
    // An installation asking about another installation's application: its tenant has no such application.
    const fromB = ctx("beta-d", "app");
    for (const [method, path, body] of [
      ["GET", `/applications/${ids.app}/environments`, undefined],
      ["PUT", `/applications/${ids.app}/environments/Test/variables/X`, { value: "1" }],
      ["PATCH", `/applications/${ids.app}/environments/Test`, { name: "Mine" }],
      ["POST", `/applications/${ids.app}/schedules`, { branch: "main", cron: "0 0 2 * * ? *" }],
      ["GET", `/applications/${ids.app}/schedules`, undefined],
    ] as const) {
      const r = await call(b, method, path, fromB, body);
      assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.body)}`);
    }
    // A page of workspace A whose token names workspace B's repository.
    const crossed = await call(a, "GET", `/applications/${ids.app}/environments`, { ...ctx("beta-d", "app"), workspaceUuid: bb.workspaceUuid("beta-d") });
    assert.equal(crossed.status, 403);
    // A page of acme-d/app asking about acme-d/other (the same installation, another repository).
    const page = ctx("acme-d", "app");
    for (const [method, path, body] of [
      ["GET", `/applications/${ids.other}/environments`, undefined],
      ["PUT", `/applications/${ids.other}/environments/Test/variables/X`, { value: "1" }],
      ["GET", `/applications/${ids.other}/schedules`, undefined],
      ["POST", `/applications/${ids.other}/schedules`, { branch: "main", cron: "0 0 2 * * ? *" }],
      ["PUT", `/applications/${ids.other}/variables/X`, { value: "1" }],
      ["PATCH", `/applications/${ids.other}`, { autoBuild: false }],
    ] as const) {
      const r = await call(a, method, path, page, body);
      assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.match(errorOf(r), /only ask about the repository it is shown for/);
    }
    await bb.commit("acme-d", "other", { branch: "main", files: { "bitbucket-pipelines.yml": "pipelines:\n  default:\n    - step:\n        script: [echo other]\n" }, message: "other" });
    const build = await call(a, "POST", `/applications/${ids.other}/builds`, ctx("acme-d", "other"), { branch: "main" });
    assert.equal(build.status, 201, JSON.stringify(build.body));
    assert.equal((await call(a, "GET", `/builds/${(build.body as { id: number }).id}`, page)).status, 403);
    assert.equal((await call(a, "GET", `/builds/${(build.body as { id: number }).id}`, ctx("acme-d", "other"))).status, 200);
    assert.deepEqual({ vars: await models.EnvironmentVariable.count(), schedules: await models.Schedule.count(), envs: await models.Environment.count() }, before);
    assert.equal((await models.Application.findByPk(ids.other))?.autoBuild, true);
  });

  it("an admins-only environment: its settings and variables only for a repository admin, as Bitbucket answers with the app's system token", async () => {
    const models = server.storage.models;
    const writer = ctx("acme-d", "app", WRITER);
    const admin = ctx("acme-d", "app", ADMIN);
    const restrict = await call(a, "PATCH", `/applications/${ids.app}/environments/Production`, writer, { adminsOnly: true });
    assert.equal(restrict.status, 403, JSON.stringify(restrict.body));
    assert.match(errorOf(restrict), /repository admins only/);
    const asked = bb.calls.filter((c) => c.path === "/2.0/workspaces/acme-d/permissions/repositories/app");
    assert.ok(asked.length >= 1, "Bitbucket was asked");
    assert.ok(asked.every((c) => c.auth === "bearer" && c.clientKey === a.clientKey && c.status === 200), "with the installation's system token");
    assert.ok(asked.some((c) => decodeURIComponent(c.query).includes(`user.account_id="${WRITER}"`)), "about the page's user");

    assert.equal((await call(a, "PATCH", `/applications/${ids.app}/environments/Production`, admin, { adminsOnly: true })).status, 200);
    const refused = await call(a, "PUT", `/applications/${ids.app}/environments/Production/variables/DEPLOY_KEY`, writer, { value: "k", secured: true });
    assert.equal(refused.status, 403);
    assert.match(errorOf(refused), /Bitbucket says you are not an admin of acme-d\/app/);
    assert.equal(await models.EnvironmentVariable.count({ where: { name: "DEPLOY_KEY" } }), 0);
    assert.equal((await call(a, "PUT", `/applications/${ids.app}/environments/Production/variables/DEPLOY_KEY`, admin, { value: "k", secured: true })).status, 204);
    assert.equal(await models.EnvironmentVariable.count({ where: { name: "DEPLOY_KEY" } }), 1);
    // An environment without the restriction: any person of the page, as through the other doors.
    assert.equal((await call(a, "PUT", `/applications/${ids.app}/environments/Staging/variables/REGION`, writer, { value: "eu" })).status, 204);

    // Bitbucket that cannot answer now: nobody is taken for an admin, and the person is told why.
    bb.failNext({ pathMatch: /\/permissions\/repositories\//, mode: { status: 500 } });
    const unsure = await call(a, "PUT", `/applications/${ids.app}/environments/Production/variables/DEPLOY_KEY`, admin, { value: "k2" });
    assert.equal(unsure.status, 403, JSON.stringify(unsure.body));
    assert.match(errorOf(unsure), /could not check that you are one: Bitbucket answered HTTP 500/);
  });
});
