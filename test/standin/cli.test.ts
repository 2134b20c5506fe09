import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startFakeConnectApp, type FakeConnectApp } from "./support/fake-connect-app";

describe("Bitbucket Cloud stand-in: dev CLI", () => {
  let app: FakeConnectApp;

  before(async () => {
    app = await startFakeConnectApp();
  });
  after(() => app.stop());

  it("installs a demo repository into the app, pushes on command, and never prints the secret", async () => {
    const root = path.resolve(__dirname, "../..");
    const child = spawn(process.execPath, ["--require", "tsx/cjs", "test/standin/cli.ts", "--app", app.baseUrl, "--workspace", "cli-ws", "--quiet"], {
      cwd: root,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const waitFor = async (re: RegExp): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!re.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${re} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    try {
      await waitFor(/bitbucket> /);
      assert.match(out, /install into .*: 204/);
      assert.match(out, /clientKey +ari:cloud:bitbucket::app\/\{[0-9a-f-]+\}\/pipelines-standin-test/);
      child.stdin.write("push\n");
      await waitFor(/repo:push → .*: 204/);
      const tenant = [...app.tenants.values()][0];
      const push = app.received.at(-1)!;
      assert.equal(push.headers["x-event-key"], "repo:push");
      assert.equal(push.claims?.iss, tenant.clientKey);
      assert.ok(!out.includes(tenant.sharedSecret), "the shared secret is never printed");
      // The repository page to open, and what to click there.
      assert.match(out, new RegExp(`Open the repository page: http://127\\.0\\.0\\.1:\\d+/cli-ws/demo\\n  and click "Create application" in its Pipelines panel`));
      // Your own file, or a folder of them.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "standin-push-"));
      fs.writeFileSync(path.join(dir, "bitbucket-pipelines.yml"), "pipelines:\n  default:\n    - step:\n        script: [echo mine]\n");
      fs.mkdirSync(path.join(dir, "src"));
      fs.writeFileSync(path.join(dir, "src", "a.txt"), "a\n");
      fs.writeFileSync(path.join(dir, "src", "b.txt"), "b\n");
      child.stdin.write(`push --file ${path.join(dir, "bitbucket-pipelines.yml")}\n`);
      await waitFor(/pushed [0-9a-f]+ to main \(was [0-9a-f]+\): 1 file of yours/);
      child.stdin.write(`push feature/x --file ${path.join(dir, "src")}\n`);
      await waitFor(/pushed [0-9a-f]+ to feature\/x \(was new branch\): 2 files of yours/);
      child.stdin.write("push --file /nonexistent/file.yml\n");
      await waitFor(/error: cannot read \/nonexistent\/file\.yml: no such file or folder/);
      fs.rmSync(dir, { recursive: true, force: true });
      child.stdin.write("quit\n");
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
