import assert from "node:assert/strict";
import path from "node:path";
import { main, parseArgs, type CliIo } from "../../src/cli/validate";
import { FIXTURES_DIR, INVALID_FIXTURE, readFixture } from "./fixtures";

/** Runs the command against in-memory files; returns its exit status and what it printed. */
function run(argv: string[], files: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const read: string[] = [];
  const io: CliIo = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    readFile: (file) => {
      read.push(file);
      const text = files[file];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: "ENOENT" });
      return text;
    },
  };
  const status = main(argv, io);
  return { status, out: out.join("\n"), err: err.join("\n"), read };
}

const fixture = (name: string) => ({ [name]: readFixture(name) });

describe("pipelines validate (main)", () => {
  it("reads ./bitbucket-pipelines.yml by default and says the file is valid", () => {
    const result = run([], { "bitbucket-pipelines.yml": "pipelines:\n  default:\n    - step: {script: [make]}\n" });
    assert.equal(result.status, 0);
    assert.deepEqual(result.read, ["bitbucket-pipelines.yml"]);
    assert.equal(result.out, "bitbucket-pipelines.yml: valid (0 errors, 0 warnings)");
  });

  it("prints errors with file, line and column, and exits 1", () => {
    const result = run([INVALID_FIXTURE], fixture(INVALID_FIXTURE));
    assert.equal(result.status, 1);
    assert.match(result.out, new RegExp(`^${INVALID_FIXTURE.replace(/\./g, "\\.")}:1:1: error: bitbucket-pipelines\\.yml has no "pipelines" section`, "m"));
    assert.match(result.out, /:13:1: warning: duplicate key "develop"/);
    assert.match(result.out, /invalid \(1 error, 2 warnings\)$/);
  });

  it("prints a YAML syntax error with its line", () => {
    const result = run(["ci.yml"], { "ci.yml": "pipelines:\n  default:\n    - step:\n        script: [a\n    - step: {}\n" });
    assert.equal(result.status, 1);
    assert.match(result.out, /^ci\.yml:\d+:\d+: error: /m);
  });

  it("prints the pipeline and steps a branch would run (fixture 06)", () => {
    const name = "06-emmj0-bitbucket-cicd-project.yml";
    const result = run([name, "--branch", "master"], fixture(name));
    assert.equal(result.status, 0);
    const lines = result.out.split("\n");
    assert.equal(lines[0], 'for a push to branch "master":');
    assert.equal(lines[1], 'runs "branches: master" (key branches/master)');
    assert.equal(lines[2], "  clone depth 50, default max-time 120 min, 4 steps");
    assert.equal(lines[3], "  1. Lint & Format Check  [parallel group 1, image python:3.9, max-time 120 min]");
    assert.ok(lines.includes("  4. Build Docker Image  [manual, image python:3.9, runs-on windows, max-time 120 min]"), result.out);
    assert.doesNotMatch(result.out, /warning:/, "an image is for the runner to judge, not a warning of the file");
    // The summary comes last.
    assert.equal(lines.at(-1), `${name}: valid (0 errors, 0 warnings)`);
  });

  it("prints the pipeline of a tag, a pull request and a custom run", () => {
    const name = "10-56kyle-robust-python-demo.yml";
    assert.match(run([name, "--tag", "v1.0.0"], fixture(name)).out, /runs "tags: v\*"/);
    assert.match(run([name, "--pr", "feature/x:main"], fixture(name)).out, /a pull request from "feature\/x" into "main":\nruns "pull-requests: \*\*"/);
    const custom = run(["14.yml", "--custom=deploy-services"], { "14.yml": readFixture("14-1atharvad-n8n-self-hosted.yml") });
    assert.match(custom.out, /runs "custom: deploy-services"/);
    assert.match(custom.out, / {2}variable services \(default "all"\)/);
    assert.match(custom.out, /deployment production/);
  });

  it("says when no pipeline runs, and still exits 0", () => {
    const name = "09-0ryant-taudit.yml";
    const result = run([name, "--tag", "v1"], fixture(name));
    assert.equal(result.status, 0);
    assert.match(result.out, /for a push of tag "v1":\n {2}no pipeline runs\n09-0ryant-taudit\.yml: valid \(0 errors, 0 warnings\)$/);
  });

  it("exits 1 when the file cannot be read", () => {
    const result = run(["missing.yml"]);
    assert.equal(result.status, 1);
    assert.equal(result.err, "pipelines validate: cannot read missing.yml: no such file");
  });

  it("exits 2 on a usage mistake, with the usage", () => {
    for (const argv of [["--branch"], ["--pr", "main"], ["--branch", "a", "--tag", "b"], ["--nope"], ["a.yml", "b.yml"]]) {
      const result = run(argv);
      assert.equal(result.status, 2, argv.join(" "));
      assert.match(result.err, /usage: pipelines validate/);
    }
  });

  it("prints the usage for --help", () => {
    const result = run(["--help"]);
    assert.equal(result.status, 0);
    assert.match(result.out, /^usage: pipelines validate/);
  });

  it("validates a real file on disk through the default io", () => {
    // Only the file read is real here: main prints through process.stdout, so keep it quiet.
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      assert.equal(main([path.join(FIXTURES_DIR, "13-atlassian-github-for-jira.yml")]), 0);
      assert.equal(main([path.join(FIXTURES_DIR, INVALID_FIXTURE)]), 1);
    } finally {
      process.stdout.write = write;
    }
  });
});

describe("pipelines validate: words for people", () => {
  it('"0 warnings" is never followed by warnings: the summary is last and counts the selected pipeline\'s warnings too', () => {
    const file = { "ci.yml": "pipelines:\n  default:\n    - step:\n        services: [docker]\n        script: [echo hi]\n" };
    const result = run(["ci.yml", "--branch", "main"], file);
    assert.equal(result.status, 0);
    const lines = result.out.split("\n");
    const warnings = lines.filter((l) => /warning: /.test(l)).length;
    const summary = lines.at(-1) ?? "";
    assert.match(summary, /^ci\.yml: valid \(0 errors, (\d+) warnings?\)$/);
    assert.equal(Number(/(\d+) warning/.exec(summary)?.[1]), warnings);
    assert.ok(!lines.slice(0, -1).some((l) => /\b0 warnings\b/.test(l)));
  });

  it("--custom with a name the file does not have lists the custom pipelines it has, and exits 1", () => {
    const file = { "ci.yml": "pipelines:\n  default:\n    - step: {script: [echo]}\n  custom:\n    nightly:\n      - step: {script: [echo]}\n    deploy:\n      - step: {script: [echo]}\n" };
    const result = run(["ci.yml", "--custom", "nightly-build"], file);
    assert.equal(result.status, 1);
    assert.equal(result.err, 'pipelines validate: there is no custom pipeline "nightly-build"; the file has "nightly", "deploy"');
    const none = run(["ci.yml", "--custom", "x"], { "ci.yml": "pipelines:\n  default:\n    - step: {script: [echo]}\n" });
    assert.match(none.err, /there is no custom pipeline "x"; the file has no custom pipelines/);
  });

  it("explains YAML syntax errors in plain words, with the parser's own message after them", () => {
    const cases: Array<[string, RegExp]> = [
      ["pipelines:\n  default:\n    - step:\n        script:\n          - echo hi\n       name: bad\n", /ci\.yml:6:\d+: error: this line is not indented like the lines above it.*\(YAML says: All mapping items must start at the same column\)/],
      ["pipelines:\n\tdefault:\n", /ci\.yml:2:\d+: error: this line is indented with a tab: YAML indents with spaces only/],
      ["pipelines:\n  default:\n    - step:\n        script:\n          - \"echo hi\n", /error: a text in double quotes is never closed/],
      ["pipelines:\n  default: *nope\n", /error: alias \*nope has no anchor &nope before it \(an anchor must be defined before its aliases\)/],
      ["pipelines:\n  default:\n    - step:\n        script:\n          - echo a: b\n", /error: .*a command that contains `: ` is read by YAML as a key and a value: put the whole command in quotes/],
    ];
    for (const [text, expected] of cases) {
      const result = run(["ci.yml"], { "ci.yml": text });
      assert.equal(result.status, 1, text);
      assert.match(result.out, expected);
    }
  });
});

describe("parseArgs", () => {
  it("reads triggers in both --flag value and --flag=value forms", () => {
    assert.deepEqual(parseArgs(["--branch", "feature/x"]), { file: "bitbucket-pipelines.yml", trigger: { kind: "branch", branch: "feature/x" } });
    assert.deepEqual(parseArgs(["ci.yml", "--tag=v1"]), { file: "ci.yml", trigger: { kind: "tag", tag: "v1" } });
    assert.deepEqual(parseArgs(["--pr", "feature/a:release/1"]), {
      file: "bitbucket-pipelines.yml",
      trigger: { kind: "pull-request", sourceBranch: "feature/a", destinationBranch: "release/1" },
    });
    assert.deepEqual(parseArgs(["--custom", "deploy", "x.yml"]), { file: "x.yml", trigger: { kind: "custom", name: "deploy" } });
  });

  it("explains mistakes", () => {
    assert.equal(parseArgs(["--pr", ":main"]), "--pr needs SOURCE:DESTINATION, e.g. --pr feature/x:main");
    assert.equal(parseArgs(["--tag="]), "--tag needs a value");
    assert.equal(parseArgs(["-x"]), "unknown option -x");
  });
});
