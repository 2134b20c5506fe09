import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startTestServer, type TestServer } from "../support/test-server";
import { installPayload, postInstalled, postUninstalled } from "../support/install";
import { SecretBox } from "../../src/db/crypto/secret-box";
import { randomBytes } from "node:crypto";

describe("secrets at rest and in logs", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ LOG_LEVEL: "debug" });
  });
  after(async () => {
    await server.stop();
  });

  it("after an install and uninstall, no database file and no log line contains the shared secret", async () => {
    const inst = installPayload({ siteUrl: "http://127.0.0.1:9" });
    assert.equal((await postInstalled(server.url, inst.payload)).status, 204);
    assert.equal((await postUninstalled(server.url, inst.payload, inst)).status, 204);
    const secret = Buffer.from(inst.secret);
    if (server.sqliteFile) {
      const files = fs.readdirSync(path.dirname(server.sqliteFile)).filter((f) => f.startsWith("pipelines.sqlite"));
      assert.ok(files.length >= 1);
      for (const f of files) assert.equal(fs.readFileSync(path.join(path.dirname(server.sqliteFile), f)).indexOf(secret), -1, `${f} holds the secret`);
    } else {
      const [rows] = await server.storage.models.sequelize.query("SELECT * FROM tenants");
      assert.ok(!JSON.stringify(rows).includes(inst.secret));
    }
    assert.ok(server.logs.length > 0, "the service logged something");
    assert.ok(!server.logs.some((l) => l.includes(inst.secret)), "no log line holds the secret");
  });

  it("a sealed value is bound to its column and its key", () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal("s3cret", "tenants.shared_secret");
    assert.equal(box.open(sealed, "tenants.shared_secret"), "s3cret");
    assert.throws(() => box.open(sealed, "access_tokens.token"), /cannot decrypt/);
    assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, "tenants.shared_secret"), /wrong PIPELINES_SECRET_KEY/);
  });
});
