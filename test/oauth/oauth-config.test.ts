import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config/load-config";
import { ConfigError } from "../../src/config/config-error";
import { callbackUrl } from "../../src/forges/cloud-oauth/oauth-settings";

describe("OAuth consumer settings", () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "pipelines-oauth-config-"));
  after(() => fs.rmSync(cwd, { recursive: true, force: true }));
  const env = (extra: Record<string, string>) => ({ NODE_ENV: "test", ...extra });

  it("none by default, with bitbucket.org as the Bitbucket", () => {
    const c = loadConfig(env({}), cwd);
    assert.equal(c.oauth, null);
    assert.equal(c.bitbucketUrl, "https://bitbucket.org");
    assert.equal(c.bitbucketApiUrl, "https://api.bitbucket.org");
  });

  it("from the environment, the Bitbucket URLs overridable (the stand-in)", () => {
    const c = loadConfig(env({ PIPELINES_OAUTH_KEY: "k", PIPELINES_OAUTH_SECRET: "s", PIPELINES_BITBUCKET_URL: "http://127.0.0.1:9/", PIPELINES_BITBUCKET_API_URL: "http://127.0.0.1:10" }), cwd);
    assert.deepEqual(c.oauth, { key: "k", secret: "s" });
    assert.equal(c.bitbucketUrl, "http://127.0.0.1:9");
    assert.equal(c.bitbucketApiUrl, "http://127.0.0.1:10");
  });

  it("from config.json; a key without a secret names the missing setting, and the secret is in no message", () => {
    fs.writeFileSync(path.join(cwd, "config.json"), JSON.stringify({ pipelines: { oauth: { key: "json-key", secret: "json-secret" } } }));
    assert.deepEqual(loadConfig(env({}), cwd).oauth, { key: "json-key", secret: "json-secret" });
    fs.writeFileSync(path.join(cwd, "config.json"), JSON.stringify({ pipelines: { oauth: { secret: "only-secret" } } }));
    assert.throws(() => loadConfig(env({}), cwd), (e: Error) => e instanceof ConfigError && /PIPELINES_OAUTH_KEY/.test(e.message) && !e.message.includes("only-secret"));
    fs.rmSync(path.join(cwd, "config.json"));
    assert.throws(() => loadConfig(env({ PIPELINES_OAUTH_KEY: "k" }), cwd), /PIPELINES_OAUTH_SECRET/);
    assert.throws(() => loadConfig(env({ PIPELINES_BITBUCKET_URL: "not a url" }), cwd), /PIPELINES_BITBUCKET_URL/);
  });

  it("the callback URL is the base URL's /oauth/callback", () => {
    assert.equal(callbackUrl("https://ci.example.com/"), "https://ci.example.com/oauth/callback");
  });
});
