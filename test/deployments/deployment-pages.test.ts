import assert from "node:assert/strict";
import request from "supertest";
import type { BitbucketCloud } from "../standin/cloud";
import type { TestServer } from "../support/test-server";
import { mintToken } from "../support/connect-tokens";
import { installWorld, withStandinAndServer, type World } from "../support/build-world";
import { openPage } from "../pages/pages-support";
import { appApi } from "./deploy-support";

/** What the pages show of deployments and schedules (server-rendered; the Deployments page in chromium is in test/browser). */
describe("deployment and schedule settings on the pages", function () {
  this.timeout(60_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  withStandinAndServer((b, s) => ((bb = b), (server = s)));
  const secretOf = (w: World) => bb.currentSecret(w.clientKey) ?? w.secret;

  it("the configure page lists each application's environments with their restrictions and variables; secured values stay ••••", async () => {
    const w = await installWorld(bb, server, "settings");
    await appApi(server, w, "put", "/environments/production/variables/API_KEY", w.auth()).send({ value: "never-on-a-page", secured: true }).expect(204);
    await appApi(server, w, "put", "/environments/production/variables/URL", w.auth()).send({ value: "https://example.test" }).expect(204);
    const jwt = mintToken({ clientKey: w.clientKey, secret: secretOf(w), method: "GET", path: "/pages/configure", query: "" });
    const page = await request(server.url).get(`/pages/configure?jwt=${jwt}`).expect(200);
    assert.match(page.text, /Deployment environments/);
    for (const name of ["Test", "Staging", "Production"]) assert.ok(page.text.includes(`data-environment="${name}"`), name);
    assert.match(page.text, /API_KEY=••••/);
    assert.match(page.text, /URL=https:\/\/example.test/);
    assert.ok(!page.text.includes("never-on-a-page"));
    assert.match(page.text, /static\/environments-settings.js/);
  });

  it("the builds page lists the schedules with their next run; the Deployments page has a column per environment", async () => {
    const w = await installWorld(bb, server, "sched-page");
    await appApi(server, w, "post", "/schedules", w.auth()).send({ branch: "main", cron: "0 30 4 * * ? *", timezone: "Europe/Paris" }).expect(201);
    const params = { repoPath: `${w.workspace}/${w.slug}`, repoUuid: "" };
    const builds = await openPage(server, { clientKey: w.clientKey, secret: secretOf(w) }, "/pages/builds", params).expect(200);
    assert.match(builds.text, /data-testid="schedule"/);
    assert.match(builds.text, /<code>0 30 4 \* \* \? \*<\/code><\/td><td>Europe\/Paris<\/td>/);
    const deployments = await openPage(server, { clientKey: w.clientKey, secret: secretOf(w) }, "/pages/deployments", params).expect(200);
    assert.equal((deployments.text.match(/data-testid="environment" data-environment=/g) ?? []).length, 3);
    assert.equal((deployments.text.match(/data-testid="current-none"/g) ?? []).length, 3);
    const other = await openPage(server, { clientKey: w.clientKey, secret: secretOf(w) }, "/pages/deployments", { repoPath: `${w.workspace}/not-an-app`, repoUuid: "" }).expect(200);
    assert.match(other.text, /is not built by Pipelines yet/);
  });
});
