import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { DEFAULT_PATH } from "../../src/runner/build-step-env";
import { createLogSink } from "../../src/runner/log-sink";
import { MASK } from "../../src/runner/mask";
import { readPidFile } from "../../src/runner/pid-file";
import { runStep, type RunStepOptions } from "../../src/runner/run-step";
import { collectOutput, isGone, makeTempDir, sleep, waitFor } from "./helpers";

describe("runStep", function () {
  this.timeout(15_000);
  const cleanups: Array<() => void> = [];
  after(() => cleanups.forEach((c) => c()));
  let cwd: string;
  before(() => {
    cwd = makeTempDir("run-step-cwd", cleanups);
  });

  const run = (script: string[], extra: Partial<RunStepOptions> = {}) => {
    const output = collectOutput();
    const result = runStep({ script, cwd, env: {}, secrets: [], maxTimeMs: 10_000, graceMs: 500, output, ...extra });
    return { output, result };
  };

  it("runs the commands in cwd, echoing each one like Bitbucket", async () => {
    const { output, result } = run(["echo hello", "pwd"]);
    const r = await result;
    assert.equal(r.state, "SUCCESSFUL");
    assert.equal(r.exitCode, 0);
    assert.equal(r.afterScriptExitCode, undefined);
    assert.ok(r.durationMs >= 0);
    assert.equal(output.text(), `+ echo hello\nhello\n+ pwd\n${cwd}\n`);
  });

  it("echoes commands literally, whatever quotes or expansions they contain", async () => {
    const tricky = `echo "it's \${HOME:+set}" 'a'\\''b' \`echo x\` $(echo y) %s \\n`;
    const { output, result } = run([tricky, "if true; then\n  echo multi\nfi"]);
    assert.equal((await result).state, "SUCCESSFUL");
    assert.equal(output.text(), `+ ${tricky}\nit's set a'b x y %s n\n+ if true; then\n  echo multi\nfi\nmulti\n`);
  });

  it("stops at the first failing command (bash -e): later commands do not run", async () => {
    const { output, result } = run(["echo one", "false", "echo never"]);
    const r = await result;
    assert.equal(r.state, "FAILED");
    assert.equal(r.exitCode, 1);
    assert.equal(output.text(), "+ echo one\none\n+ false\n");
    assert.equal((await run(["exit 3", "echo never"]).result).exitCode, 3);
  });

  it("passes stdout and stderr on in the order they were written", async () => {
    const { output } = await (async () => {
      const r = run(["echo out1; echo err1 >&2; echo out2; echo err2 >&2"]);
      await r.result;
      return r;
    })();
    assert.equal(output.text(), "+ echo out1; echo err1 >&2; echo out2; echo err2 >&2\nout1\nerr1\nout2\nerr2\n");
  });

  it("gives the script exactly the environment it was handed, nothing of the runner's", async () => {
    process.env.PIPELINES_TEST_LEAK = "must-not-leak";
    try {
      const { output, result } = run(["env", "cat; echo stdin-closed"], { env: { FOO: "bar", BITBUCKET_BRANCH: "main" } });
      assert.equal((await result).state, "SUCCESSFUL");
      const lines = output.text().split("\n");
      const envLines = lines.slice(1, lines.indexOf("+ cat; echo stdin-closed"));
      const env = Object.fromEntries(envLines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
      assert.ok(!output.text().includes("must-not-leak"));
      // bash itself adds PWD, SHLVL and _ (and OLDPWD in some versions).
      const names = Object.keys(env).filter((n) => !["PWD", "SHLVL", "_", "OLDPWD"].includes(n)).sort();
      assert.deepEqual(names, ["BITBUCKET_BRANCH", "FOO", "HOME", "LANG", "PATH"]);
      assert.equal(env.FOO, "bar");
      assert.equal(env.PATH, DEFAULT_PATH);
      assert.equal(env.LANG, "C.UTF-8");
      assert.ok(env.HOME.includes("pipelines-step-") && !existsSync(env.HOME), "HOME is a private directory, removed afterwards");
      assert.ok(output.text().endsWith("stdin-closed\n"), "stdin is /dev/null");
    } finally {
      delete process.env.PIPELINES_TEST_LEAK;
    }
  });

  it("keeps a PATH, HOME and LANG that the environment sets", async () => {
    const { output, result } = run(['echo "$PATH|$HOME|$LANG"'], { env: { PATH: "/usr/bin:/bin", HOME: cwd, LANG: "C" } });
    await result;
    assert.ok(output.text().endsWith(`/usr/bin:/bin|${cwd}|C\n`));
  });

  it("runs the after-script after a failure, with BITBUCKET_EXIT_CODE; its failure does not change the result", async () => {
    const { output, result } = run(["echo main", "exit 3"], { afterScript: ['echo "code=$BITBUCKET_EXIT_CODE"', "false", "echo never"] });
    const r = await result;
    assert.deepEqual([r.state, r.exitCode, r.afterScriptExitCode], ["FAILED", 3, 1]);
    const text = output.text();
    assert.ok(text.includes("[pipelines] running after-script\n+ echo \"code=$BITBUCKET_EXIT_CODE\"\ncode=3\n+ false\n"), text);
    assert.ok(text.endsWith("[pipelines] after-script failed with exit code 1; the step result is unchanged\n"), text);
    assert.ok(!text.includes("never"));

    const ok = run(["true"], { afterScript: ['echo "code=$BITBUCKET_EXIT_CODE"', "exit 5"] });
    const r2 = await ok.result;
    assert.deepEqual([r2.state, r2.exitCode, r2.afterScriptExitCode], ["SUCCESSFUL", 0, 5]);
    assert.ok(ok.output.text().includes("code=0\n"));
  });

  it("a cancel during the after-script stops it: STOPPED, the script's exit code kept", async () => {
    const controller = new AbortController();
    const { output, result } = run(["exit 4"], { afterScript: ["echo cleaning", "sleep 1000"], signal: controller.signal });
    await waitFor(() => output.text().includes("cleaning\n"), 5000, "the after-script to start");
    controller.abort();
    const r = await result;
    assert.deepEqual([r.state, r.exitCode, r.afterScriptExitCode], ["STOPPED", 4, null]);
  });

  it("on max-time stops the whole process group, background children included", async () => {
    const { output, result } = run(["sleep 1000 & echo bg=$!", "echo main=$$", "sleep 1000"], {
      maxTimeMs: 1000,
      afterScript: ["echo after-script-ran"],
    });
    const r = await result;
    assert.equal(r.state, "TIMED_OUT");
    assert.equal(r.exitCode, null);
    assert.equal(r.afterScriptExitCode, undefined, "no after-script once the step is stopped");
    assert.ok(r.durationMs >= 1000 && r.durationMs < 3000, `took ${r.durationMs} ms`);
    const text = output.text();
    assert.ok(text.endsWith("\n[pipelines] step exceeded max-time of 1 second; stopping\n"), text);
    assert.ok(!text.includes("after-script-ran"));
    for (const name of ["bg", "main"]) {
      const pid = Number(new RegExp(`${name}=(\\d+)`).exec(text)?.[1]);
      assert.ok(pid > 1, `${name} pid printed`);
      await waitFor(() => isGone(pid), 3000, `${name} (pid ${pid}) to be gone`);
    }
  });

  it("sends SIGKILL after graceMs to processes that ignore SIGTERM", async () => {
    const { output, result } = run(["trap '' TERM", "sleep 1000 & echo bg=$!", "sleep 1000"], { maxTimeMs: 500, graceMs: 300 });
    const r = await result;
    assert.equal(r.state, "TIMED_OUT");
    assert.ok(r.durationMs >= 800, `took ${r.durationMs} ms: SIGKILL came only after the grace period`);
    const bg = Number(/bg=(\d+)/.exec(output.text())?.[1]);
    await waitFor(() => isGone(bg), 3000, `background pid ${bg} to be gone`);
  });

  it("stops what a finished script left running, even jobs in their own group (set -m)", async () => {
    const { output, result } = run(["sleep 1000 & echo bg=$!", "set -m", "sleep 1000 & echo job=$!"]);
    const r = await result;
    assert.equal(r.state, "SUCCESSFUL");
    for (const name of ["bg", "job"]) {
      const pid = Number(new RegExp(`${name}=(\\d+)`).exec(output.text())?.[1]);
      await waitFor(() => isGone(pid), 3000, `${name} pid ${pid} to be gone`);
    }
  });

  it("cancel through the AbortSignal → STOPPED, with the same TERM/KILL sequence", async () => {
    const controller = new AbortController();
    const { output, result } = run(["sleep 1000 & echo bg=$!", "echo ready", "sleep 1000"], { signal: controller.signal });
    await waitFor(() => output.text().includes("ready\n"), 5000, "the script to start");
    controller.abort();
    const r = await result;
    assert.deepEqual([r.state, r.exitCode], ["STOPPED", null]);
    assert.ok(output.text().endsWith("ready\n+ sleep 1000\n[pipelines] stop requested; stopping the step\n"), output.text());
    const bg = Number(/bg=(\d+)/.exec(output.text())?.[1]);
    await waitFor(() => isGone(bg), 3000, `background pid ${bg} to be gone`);
  });

  it("does not start at all when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const { output, result } = run(["echo never"], { signal: controller.signal });
    const r = await result;
    assert.deepEqual([r.state, r.exitCode], ["STOPPED", null]);
    assert.ok(!output.text().includes("never"));
  });

  it("masks secrets the script prints, plain and base64", async () => {
    const secret = "hunter2-very-secret";
    const { output, result } = run(
      ['echo "token=$SECRET"', "echo -n $SECRET | base64", 'echo -n "user:$SECRET" | base64'],
      { env: { SECRET: secret }, secrets: [secret] },
    );
    assert.equal((await result).state, "SUCCESSFUL");
    const text = output.text();
    assert.ok(text.includes(`token=${MASK}\n`), text);
    assert.ok(!text.includes(secret));
    assert.ok(!text.includes(Buffer.from(secret).toString("base64").slice(0, 20)), text);
    assert.ok(!text.includes(Buffer.from(`user:${secret}`).toString("base64").slice(8, 28)), text);
    assert.ok(text.includes(`+ echo -n $SECRET | base64\n${MASK}\n`), text);
  });

  it("with a 1 MiB log cap, 50 MB of output ends with the truncation notice", async () => {
    const chunks: Buffer[] = [];
    const sink = createLogSink({ capBytes: 1024 * 1024, onChunk: (_offset, data) => void chunks.push(data) });
    const r = await runStep({
      script: ["head -c 52428800 /dev/zero | tr '\\0' x", "echo done"],
      cwd, env: {}, secrets: ["not-in-output"], maxTimeMs: 10_000, graceMs: 500, output: sink,
    });
    await sink.close();
    assert.equal(r.state, "SUCCESSFUL");
    const text = Buffer.concat(chunks).toString();
    assert.ok(text.endsWith("\n[pipelines] log truncated: this step printed more than 1 MiB; the rest is not stored\n"));
    assert.ok(text.length < 1024 * 1024 + 200);
    assert.ok(sink.droppedBytes > 50_000_000, `dropped ${sink.droppedBytes}`);
  });

  it("never puts the script in argv, and keeps the pid file only while the script runs", async () => {
    const pidFile = `${makeTempDir("run-step-state", cleanups)}/step-1.pid`;
    const controller = new AbortController();
    const { output, result } = run(["echo SECRET_MARKER_42 >/dev/null; echo pid=$$", "sleep 1000"], { pidFile, signal: controller.signal });
    await waitFor(() => /pid=\d+/.test(output.text()), 5000, "the script to start");
    const pid = Number(/pid=(\d+)/.exec(output.text())?.[1]);
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    assert.equal(argv.length, 3, argv.join(" "));
    assert.match(argv[0], /bash$/);
    assert.equal(argv[1], "-e");
    assert.match(argv[2], /pipelines-step-.*\/script\.sh$/);
    assert.ok(!argv.join(" ").includes("SECRET_MARKER_42"));
    assert.equal((await readPidFile(pidFile))?.pid, pid);
    controller.abort();
    await result;
    assert.ok(!existsSync(pidFile), "the pid file is removed after the step");
    assert.ok(!existsSync(argv[2]), "the script file is removed after the step");
  });

  it("waits for a slow output (back-pressure) and passes every byte on in order", async () => {
    let received = "";
    const output = { write: async (s: string) => { await sleep(1); received += s; } };
    const r = await runStep({ script: ["seq 1 20000"], cwd, env: {}, secrets: [], maxTimeMs: 10_000, output });
    assert.equal(r.state, "SUCCESSFUL");
    const expected = Array.from({ length: 20000 }, (_, i) => String(i + 1)).join("\n");
    assert.equal(received, `+ seq 1 20000\n${expected}\n`);
  });

  it("stops the step and rejects when the output fails", async () => {
    const output = { write: (s: string) => { if (s.includes("+ sleep")) throw new Error("log store is gone"); } };
    const started = Date.now();
    await assert.rejects(
      runStep({ script: ["echo a", "echo b", "sleep 1000"], cwd, env: {}, secrets: [], maxTimeMs: 10_000, graceMs: 500, output }),
      /log store is gone/,
    );
    assert.ok(Date.now() - started < 3000);
  });

  it("rejects when the step cannot start (missing cwd) or the environment is invalid", async () => {
    await assert.rejects(run(["true"], { cwd: `${cwd}/missing` }).result, /ENOENT/);
    await assert.rejects(run(["true"], { env: { "BAD-NAME": "x" } }).result, /not a valid variable name/);
  });
});
