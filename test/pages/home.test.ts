import assert from "node:assert/strict";
import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "../support/test-server";
import { installWorld } from "../support/build-world";

/** GET / — what the service is and where to go next, for someone who just started it. */
describe("the home page", function () {
  this.timeout(60_000);
  let bb: BitbucketCloud;
  let server: TestServer;
  let dev: TestServer;

  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer();
    dev = await startTestServer({ NODE_ENV: "development" });
  });
  after(async () => {
    await server?.stop();
    await dev?.stop();
    await bb?.stop();
  });

  it("says what the service is and how to connect Bitbucket (descriptor, OAuth setup, Server, Forge), with the app's stylesheet and no script", async () => {
    const res = await request(server.url).get("/");
    assert.equal(res.status, 200);
    assert.match(res.headers["content-type"], /^text\/html/);
    assert.match(res.text, /<h1>Pipelines for Bitbucket<\/h1>/);
    assert.match(res.text, /every push runs the repository's <code>bitbucket-pipelines\.yml<\/code>/);
    assert.ok(res.text.includes(`href="${server.url}/atlassian-connect.json"`), "the Connect descriptor");
    assert.ok(res.text.includes(`href="${server.url}/oauth/setup"`), "no consumer: how to set one up");
    assert.ok(res.text.includes(`href="${server.url}/server/login"`));
    assert.match(res.text, /forge manifest --app-id/);
    assert.ok(res.text.includes(`${server.url}/static/pipelines.css`));
    assert.doesNotMatch(res.text, /<script/);
    assert.doesNotMatch(res.text, /data-testid="home-standin"/, "the stand-in only in development");
    assert.match(String(res.headers["content-security-policy"]), /frame-ancestors 'none'/);
  });

  it("in development, says how to try it with the stand-in and links the stand-in's repositories that are applications", async () => {
    const w = await installWorld(bb, dev, "home");
    const res = await request(dev.url).get("/");
    assert.equal(res.status, 200);
    assert.match(res.text, /data-testid="home-standin"/);
    assert.ok(res.text.includes(`npm run dev:bitbucket -- --app ${dev.url}`));
    assert.ok(res.text.includes(`<a href="${bb.siteUrl}/${w.workspace}/${w.slug}">${w.workspace}/${w.slug}</a>`), res.text);
  });
});
