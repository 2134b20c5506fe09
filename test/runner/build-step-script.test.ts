import assert from "node:assert/strict";
import { execFileSync, type ExecFileSyncOptionsWithStringEncoding } from "node:child_process";
import { buildStepScript, shellQuote } from "../../src/runner/build-step-script";

// stdin must not be a socket: bash would take itself for an rsh session and read ~/.bashrc (as runStep's does not).
const OPTS: ExecFileSyncOptionsWithStringEncoding = { encoding: "utf8", env: {}, stdio: ["ignore", "pipe", "pipe"] };

const TRICKY = ["plain", "it's", "'", "''", "a'\\''b", '"$HOME"', "$(echo pwned)", "`echo pwned`", "\\n %s %%", "multi\nline\n", "!event", "*", "tab\there", "ünïcødé 😀", ""];

describe("buildStepScript", () => {
  it("shellQuote makes any text one literal shell word", () => {
    for (const text of TRICKY) {
      assert.equal(execFileSync("/bin/bash", ["-c", `printf '%s' ${shellQuote(text)}`], OPTS), text);
    }
  });

  it("echoes every command literally before running it", () => {
    const commands = TRICKY.map((t) => `: ${shellQuote(t)}`).concat(["echo ran"]);
    const out = execFileSync("/bin/bash", ["-e", "-c", buildStepScript(commands)], OPTS);
    assert.equal(out, commands.map((c) => `+ ${c}\n`).join("") + "ran\n");
    assert.ok(!out.includes("pwned\n"));
  });

  it("sends stderr into stdout and ends each command with a newline", () => {
    assert.equal(buildStepScript(["echo a\n", "echo b"]), "exec 2>&1\nprintf '+ %s\\n' 'echo a'\necho a\nprintf '+ %s\\n' 'echo b'\necho b\n");
  });
});
