import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { main as server } from "../../src/cli/server";
import { main as pipelines } from "../../src/cli/pipelines";
import { main as runner } from "../../src/cli/runner";
import { main as permissions } from "../../src/cli/permissions";

const ROOT = path.resolve(__dirname, "..", "..");

/** Runs a command-line entry point of the project as its own process: its real exit status and output. */
function cli(file: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ["--require", "tsx/cjs", path.join(ROOT, file), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), NODE_ENV: "test", ...env },
    timeout: 60_000,
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** The same entry point called in this process (quicker): its exit status and what it printed. */
async function inProcess(run: () => Promise<number> | number) {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  const write = process.stdout.write;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  process.stdout.write = ((chunk: string) => out.push(String(chunk).replace(/\n$/, "")) > 0) as typeof process.stdout.write;
  try {
    const status = await run();
    return { status, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
    process.stdout.write = write;
  }
}

/** `npm run pipelines -- …` and the other command-line tools, as a person at a terminal meets them. */
describe("the pipelines command line", function () {
  this.timeout(120_000);

  it("says a command is unknown, names the commands, and exits 2", async () => {
    const r = cli("src/cli/pipelines.ts", ["bogus"]);
    assert.equal(r.status, 2);
    assert.match(r.err, /^pipelines: unknown command "bogus" \(the commands are validate, permissions, runner-token, runners, server, forge, help\)$/m);
    assert.match(r.err, /^usage: pipelines <command>/m);
    const sub = await inProcess(() => pipelines(["server", "bogus"]));
    assert.equal(sub.status, 2);
    assert.match(sub.err, /^pipelines server: unknown command "bogus"/m);
  });

  it("the top-level help lists every subcommand, on stdout, exit 0", async () => {
    for (const args of [["--help"], ["help"], ["-h"]]) {
      const r = args[0] === "--help" ? cli("src/cli/pipelines.ts", args) : await inProcess(() => pipelines(args));
      assert.equal(r.status, 0, args.join(" "));
      for (const command of ["validate", "permissions", "runner-token create", "runners", "server add | list | repos | remove | enable | disable | reset-host-key", "forge manifest", "help"]) {
        assert.ok(r.out.includes(`  ${command}`), `${command} in:\n${r.out}`);
      }
    }
  });

  it("--help exits 0 and prints the usage of every command (permissions --help too)", async () => {
    const cases: Array<[string, () => Promise<number> | number, RegExp]> = [
      ["validate --help", () => pipelines(["validate", "--help"]), /^usage: pipelines validate/],
      ["permissions --help", () => pipelines(["permissions", "--help"]), /^usage: pipelines permissions/],
      ["runner-token --help", () => pipelines(["runner-token", "--help"]), /^usage: pipelines runner-token create/],
      ["runner-token create --help", () => pipelines(["runner-token", "create", "--help"]), /^usage: pipelines runner-token create/],
      ["runners --help", () => pipelines(["runners", "--help"]), /^usage: pipelines runners/],
      ["server --help", () => pipelines(["server", "--help"]), /^usage: pipelines server add/],
      ["server list --help", () => pipelines(["server", "list", "--help"]), /^usage: pipelines server add/],
      ["forge --help", () => pipelines(["forge", "--help"]), /^usage: pipelines forge manifest/],
      ["forge manifest --help", () => pipelines(["forge", "manifest", "--help"]), /^usage: pipelines forge manifest/],
      ["npm run runner -- --help", () => runner(["--help"]), /^usage: npm run runner/],
      ["npm run permissions -- --help", () => permissions(["--help"], { out: (l) => console.log(l), err: (l) => console.error(l) }), /^usage: pipelines permissions/],
    ];
    for (const [what, run, usage] of cases) {
      const r = await inProcess(run);
      assert.equal(r.status, 0, `${what}: ${r.err}`);
      assert.match(r.out, usage, what);
      assert.doesNotMatch(r.out, /Area\s+Access\s+Scope/, "help is not the command's work");
    }
    // And as a process of its own: the exit status a shell sees.
    const real = cli("src/cli/pipelines.ts", ["permissions", "--help"]);
    assert.equal(real.status, 0);
    assert.match(real.out, /^usage: pipelines permissions/);
  });

  it("a command without what it needs says what is missing and exits 2", async () => {
    const r = await inProcess(() => pipelines(["runner-token", "create"]));
    assert.equal(r.status, 2);
    assert.match(r.err, /^pipelines runner-token create: give the runner's name with --name <name>$/m);
    const none = await inProcess(() => pipelines([]));
    assert.equal(none.status, 2);
    assert.match(none.err, /^usage: pipelines <command>/m);
  });

  it("server list with no connections says so", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cli-server-list-"));
    try {
      const out: string[] = [];
      const err: string[] = [];
      const env = { NODE_ENV: "test", LOG_LEVEL: "silent", DATABASE_URL: `sqlite:${path.join(dir, "p.sqlite")}`, PIPELINES_SECRET_KEY: randomBytes(32).toString("base64") };
      const status = await server(["list"], { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
      assert.equal(status, 0, err.join("\n"));
      assert.deepEqual(out, ["No Bitbucket Server connections yet: add one with pipelines server add --host <https://…> --username <name>"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
