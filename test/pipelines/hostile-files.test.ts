import assert from "node:assert/strict";
import { main, type CliIo } from "../../src/cli/validate";
import { changesetMatches, DEFAULT_LIMITS, formatDiagnostic, parsePipelineFile, selectPipeline, type Diagnostic, type ParseResult } from "../../src/pipelines";
import { configOf } from "./fixtures";
import {
  aliasAmplification,
  billionLaughs,
  deepBlockNesting,
  deepFlowNesting,
  fileWithBranchPattern,
  hugeGlob,
  mergeCycle,
  starPattern,
} from "./hostile-files";

/** Runs `work` and fails if it took longer than `ms`: a generous bound on a shared machine, not a benchmark. */
function within<T>(ms: number, work: () => T): T {
  const started = performance.now();
  const result = work();
  const took = performance.now() - started;
  assert.ok(took < ms, `took ${took.toFixed(0)} ms (bound ${ms} ms)`);
  return result;
}

function refused(text: string, ms = 5000): Diagnostic[] {
  const result: ParseResult = within(ms, () => parsePipelineFile(text));
  assert.ok(!result.ok, "expected the file to be refused");
  return result.errors;
}

function show(list: readonly Diagnostic[]): string {
  return list.map((d) => formatDiagnostic(d)).join("\n");
}

/** The validate command on in-memory files: exit status and everything it printed. */
function validate(argv: string[], text: string): { status: number; output: string } {
  const lines: string[] = [];
  const io: CliIo = { out: (l) => lines.push(l), err: (l) => lines.push(l), readFile: () => text };
  const status = main(["bitbucket-pipelines.yml", ...argv], io);
  return { status, output: lines.join("\n") };
}

describe("crafted pipeline files (issue 15): each refused or handled within its bound, with file:line:col", () => {
  describe("star patterns", () => {
    for (const [stars, length] of [[13, 30], [16, 40], [24, 255]] as const) {
      it(`selects no pipeline for a branch of ${length} "a"s against "${starPattern(stars).slice(0, 12)}…" (${stars} × "*a") at once`, () => {
        const config = configOf(fileWithBranchPattern(starPattern(stars)));
        assert.equal(within(500, () => selectPipeline(config, { kind: "branch", branch: "a".repeat(length) })), null);
        assert.equal(selectPipeline(config, { kind: "branch", branch: `${"a".repeat(length)}b` })?.name, `branches: ${starPattern(stars)}`);
      });
    }

    it("answers validate --branch at once for the same pattern", () => {
      const result = within(2000, () => validate(["--branch", "a".repeat(40)], fileWithBranchPattern(starPattern(16))));
      assert.equal(result.status, 0, result.output);
      assert.match(result.output, /no pipeline runs\n.*valid \(0 errors/);
    });

    it("matches the same pattern as a changeset path at once (condition.changesets goes through the same matcher)", () => {
      const condition = { includePaths: [starPattern(16)], excludePaths: [`**/${starPattern(16)}`] };
      const changed = Array.from({ length: 50 }, (_, i) => `${"a".repeat(40)}/${"a".repeat(i)}`);
      assert.equal(within(500, () => changesetMatches(condition, changed)), false);
    });
  });

  describe("alias amplification", () => {
    for (const kilobytes of [32, 120]) {
      it(`refuses - step: *s used over a 1,000-line script, ${kilobytes} KB, at the alias that passes the node limit, before expanding it`, () => {
        const { text, firstAliasLine, uses } = aliasAmplification(kilobytes);
        assert.ok(uses >= 2000, `only ${uses} aliases`);
        const errors = refused(text);
        assert.equal(errors.length, 1, show(errors));
        const error = errors[0] as Diagnostic;
        // Each use is 1,007 nodes (the item, its key and the 1,005 nodes of the step); the 19th passes 20,000.
        assert.equal(error.line, firstAliasLine + 18, formatDiagnostic(error));
        assert.equal(error.column, 13);
        assert.equal(
          error.message,
          "alias *s stands for 1,005 nodes, which takes the file past 20,000 YAML nodes with aliases expanded (the node limit for a pipeline file); it is refused before it is expanded",
        );
      });
    }

    it("refuses the 148 KB file of the issue by its size alone, before reading it", () => {
      const { text } = aliasAmplification(148);
      const errors = refused(text, 1000);
      assert.equal(errors.length, 1);
      assert.match(formatDiagnostic(errors[0] as Diagnostic), /^bitbucket-pipelines\.yml:\d+:\d+: the file is 151,\d{3} bytes, more than the 131,072 a pipeline file may have \(the size limit\); it is not read$/);
    });

    it("refuses billion laughs at the first alias past the limit", () => {
      const errors = refused(billionLaughs(), 2000);
      assert.match(formatDiagnostic(errors[0] as Diagnostic), /^bitbucket-pipelines\.yml:7:\d+: alias \*l3 stands for 11,111 nodes, .*the node limit/);
    });

    it("refuses a merge that includes the mapping it is in, and an alias inside its own anchor (cycles)", () => {
      assert.equal(formatDiagnostic(refused(mergeCycle(), 2000)[0] as Diagnostic), "bitbucket-pipelines.yml:5:13: alias *x stands for a node that contains it (a cycle): it would never end");
      assert.equal(formatDiagnostic(refused("definitions:\n  x: &x [a, *x]\npipelines:\n  default:\n    - step: {script: [a]}\n", 2000)[0] as Diagnostic), "bitbucket-pipelines.yml:2:13: alias *x stands for a node that contains it (a cycle): it would never end");
    });

    it("keeps ordinary anchors working (fixture-sized reuse is far inside the limit)", () => {
      const { text } = aliasAmplification(1);
      const result = parsePipelineFile(text);
      assert.ok(result.ok, result.ok ? "" : show(result.errors));
    });
  });

  describe("size and nesting", () => {
    it("refuses a file over the size limit where it passes it, without reading it", () => {
      const text = `pipelines:\n  default:\n    - step:\n        script:\n${"          - echo 0123456789 0123456789 0123456789\n".repeat(6000)}`;
      const errors = refused(text, 1000);
      assert.equal(errors.length, 1);
      const error = errors[0] as Diagnostic;
      assert.equal(error.message, "the file is 300,050 bytes, more than the 131,072 a pipeline file may have (the size limit); it is not read");
      // 50 header bytes on 4 lines, then 50 bytes a line: byte 131,073 is on this line.
      assert.equal(error.line, 5 + Math.floor((DEFAULT_LIMITS.maxBytes - 50) / 50));
    });

    for (const [name, text, line, column] of [
      // Levels count from the top: the file's mapping is 1, `pipelines` 2, `default` 3…; the 65th is refused.
      ["flow lists", deepFlowNesting(800), 2, 12 + 62],
      ["block lists", deepBlockNesting(800), 5, 11 + 2 * (65 - 6)],
      ["flow mappings", `pipelines:\n  default: ${"{a: ".repeat(800)}1${"}".repeat(800)}\n`, 2, 12 + 4 * 62],
    ] as const) {
      it(`refuses 800 levels of ${name} at the first level past the depth limit`, () => {
        const errors = refused(text, 2000);
        assert.equal(formatDiagnostic(errors[0] as Diagnostic), `bitbucket-pipelines.yml:${line}:${column}: mappings and lists are nested more than 64 levels deep here (the depth limit for a pipeline file)`);
      });
    }

    it("refuses nesting that only aliases make too deep", () => {
      const deep = (n: number) => `${"[".repeat(n)}x${"]".repeat(n)}`;
      const errors = refused(`definitions:\n  a: &a ${deep(40)}\n  b: ${deep(30).replace("x", "*a")}\npipelines:\n  default:\n    - step: {script: [a]}\n`, 2000);
      assert.match(formatDiagnostic(errors[0] as Diagnostic), /^bitbucket-pipelines\.yml:3:\d+: mappings and lists are nested more than 64 levels deep here/);
    });
  });

  describe("a 32,768-character glob", () => {
    it("is refused with the key's line and column, and validate --branch prints it without a stack trace", () => {
      const pattern = hugeGlob();
      assert.equal(pattern.length, 32_768);
      const text = fileWithBranchPattern(pattern);
      const errors = refused(text, 2000);
      assert.equal(
        formatDiagnostic(errors[0] as Diagnostic),
        `bitbucket-pipelines.yml:3:7: pipelines.branches["${pattern.slice(0, 40)}…" (32,768 characters)]: this branch pattern is 32,768 characters long; a glob may have at most 1,000`,
      );
      const cli = within(3000, () => validate(["--branch", "main"], text));
      assert.equal(cli.status, 1);
      assert.match(cli.output, /^bitbucket-pipelines\.yml:3:7: error: .*this branch pattern is 32,768 characters long; a glob may have at most 1,000$/m);
      assert.match(cli.output, /invalid \(1 error, 0 warnings\)$/);
      assert.doesNotMatch(cli.output, /^\s+at /m, "no stack trace");
    });

    it("as a plain key, is refused as YAML (each `{` opens a mapping there), listing the first 20 problems", () => {
      const errors = refused(`pipelines:\n  branches:\n    ${hugeGlob()}:\n      - step: {script: [a]}\n`, 3000);
      assert.equal(errors.length, 21);
      assert.equal(errors[0]?.line, 3);
      assert.equal(errors[20]?.message, "and more YAML errors from here on: the file is not read further (only the first 20 are listed)");
    });

    it("is refused as a changeset or artifact path too", () => {
      const long = `src/${"x".repeat(1000)}`;
      const errors = refused(`pipelines:\n  default:\n    - step:\n        condition:\n          changesets:\n            includePaths: ["${long}"]\n        artifacts: ["${long}"]\n        script: [a]\n`, 2000);
      assert.deepEqual(errors.map((e) => [e.line, e.message]), [
        [6, "this path pattern is 1,004 characters long; a glob may have at most 1,000"],
        [7, "this artifact path is 1,004 characters long; a glob may have at most 1,000"],
      ]);
    });
  });

  describe("typos that change what runs", () => {
    const step = (lines: string) => `pipelines:\n  default:\n    - step:\n        name: Deploy\n${lines}`;

    it("refuses `triger: manual` and `depoyment: x`, naming the keys meant", () => {
      const errors = refused(step("        triger: manual\n        depoyment: production\n        script: [./deploy.sh]\n"), 2000);
      assert.deepEqual(errors.map((e) => formatDiagnostic(e)), [
        'bitbucket-pipelines.yml:5:9: pipelines.default[0].step.triger: unknown key "triger": did you mean "trigger"? A misspelt key is ignored, so this would not do what it says',
        'bitbucket-pipelines.yml:6:9: pipelines.default[0].step.depoyment: unknown key "depoyment": did you mean "deployment"? A misspelt key is ignored, so this would not do what it says',
      ]);
    });

    it("refuses `scripts`, `artifact` and `debth` inside clone", () => {
      const errors = refused(step("        scripts: [make]\n        artifact: [dist/**]\n        clone:\n          debth: full\n"), 2000);
      const messages = errors.map((e) => `${e.line}: ${e.message}`);
      assert.ok(messages.includes('5: unknown key "scripts": did you mean "script"? A misspelt key is ignored, so this would not do what it says'), messages.join("\n"));
      assert.ok(messages.includes('6: unknown key "artifact": did you mean "artifacts"? A misspelt key is ignored, so this would not do what it says'), messages.join("\n"));
      assert.ok(messages.includes('8: unknown key "debth": did you mean "depth"? A misspelt key is ignored, so this would not do what it says'), messages.join("\n"));
      // Without its script the step is refused as well, at the step.
      assert.ok(messages.includes('3: this step has no "script": every step needs the list of commands (or pipes) it runs'), messages.join("\n"));
    });

    it("refuses `clone: {debth: full}` (which reported valid) on its own", () => {
      const errors = refused("clone:\n  debth: full\npipelines:\n  default:\n    - step: {script: [a]}\n", 2000);
      assert.deepEqual(errors.map((e) => formatDiagnostic(e)), ['bitbucket-pipelines.yml:2:3: clone.debth: unknown key "debth": did you mean "depth"? A misspelt key is ignored, so this would not do what it says']);
    });

    it("refuses misspellings in a stage, a parallel group, a pipe and on-fail; other unknown keys are warnings", () => {
      const result = parsePipelineFile(
        "pipelines:\n  default:\n    - stage:\n        deploymnet: prod\n        steps:\n          - step: {script: [a]}\n    - parallel:\n        failfast: true\n        steps:\n          - step:\n              on-fail: {stratgy: ignore}\n              script:\n                - pipe: atlassian/x:1\n                  variable: {A: b}\n          - step: {script: [b], colour: blue}\n",
      );
      assert.ok(!result.ok);
      assert.deepEqual(result.errors.map((e) => [e.line, e.message.replace(/ A misspelt.*/, "")]), [
        [4, 'unknown key "deploymnet": did you mean "deployment"?'],
        [8, 'unknown key "failfast": did you mean "fail-fast"?'],
        [11, 'missing required key "strategy"'],
        [11, 'unknown key "stratgy": did you mean "strategy"?'],
        [14, 'unknown key "variable": did you mean "variables"?'],
      ]);
      assert.deepEqual(result.warnings.map((w) => [w.line, w.message]), [[15, 'unknown key "colour" is ignored']]);
    });
  });

  describe("steps Bitbucket would not run, and what this service does not run yet", () => {
    it("refuses a step without script", () => {
      const errors = refused("pipelines:\n  default:\n    - step:\n        name: Nothing\n        image: node:20\n", 2000);
      assert.deepEqual(errors.map((e) => formatDiagnostic(e)), ['bitbucket-pipelines.yml:3:7: pipelines.default[0].step: this step has no "script": every step needs the list of commands (or pipes) it runs']);
    });

    it("accepts a step whose script is only pipes", () => {
      const result = parsePipelineFile("pipelines:\n  default:\n    - step:\n        script:\n          - pipe: atlassian/slack-notify:2.0.0\n            variables: {WEBHOOK_URL: $URL}\n");
      assert.ok(result.ok, result.ok ? "" : show(result.errors));
    });

    it("refuses shared pipelines (import:) and child pipelines (type: pipeline), saying they are not supported", () => {
      const errors = refused("pipelines:\n  default:\n    - step:\n        type: pipeline\n        custom: build-all\n  branches:\n    main:\n      import: shared-pipelines:master:build\n", 2000);
      assert.deepEqual(errors.map((e) => formatDiagnostic(e)), [
        'bitbucket-pipelines.yml:4:9: pipelines.default[0].step.type: child pipelines (type: pipeline) are not supported by Pipelines for Bitbucket yet; put the steps of the custom pipeline "build-all" here instead',
        'bitbucket-pipelines.yml:8:7: pipelines.branches.main.import: shared pipelines (import: "shared-pipelines:master:build") are not supported by Pipelines for Bitbucket yet; copy the steps of the shared pipeline into this file',
      ]);
    });

    it("checks size, on-fail, output-variables, oidc, runs-on and clone", () => {
      const result = parsePipelineFile(`clone:
  lfs: true
  skip-ssl-verify: true
options:
  size: 16x
pipelines:
  default:
    - step:
        size: 3x
        on-fail: {strategy: retry, maxRetryCount: 3}
        output-variables: [VERSION, 1ST]
        oidc: yes
        runs-on: [${Array.from({ length: 11 }, (_, i) => `l${i}`).join(", ")}]
        clone: {depth: 0, enabled: maybe}
        script: [a]
    - step:
        on-fail: {strategy: skip}
        oidc: {audiences: []}
        concurrency-group: ""
        services: [postgres]
        script: [b]
`);
      assert.ok(!result.ok);
      assert.deepEqual(result.errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`), [
        "5:3 options.size: size 16x is not supported by Pipelines for Bitbucket: use 1x, 2x, 4x, 8x",
        '9:9 pipelines.default[0].step.size: must be one of "1x", "2x", "4x", "8x", "16x", "32x", found "3x"',
        '10:19 pipelines.default[0].step.on-fail.strategy: the "retry" failure strategy is not supported by Pipelines for Bitbucket yet; "fail" and "ignore" are',
        '11:37 pipelines.default[0].step.output-variables[1]: must match the pattern ^[A-Za-z_][A-Za-z0-9_]*$, found "1ST"',
        '12:9 pipelines.default[0].step.oidc: expected true or false or a mapping, found "yes"',
        "13:9 pipelines.default[0].step.runs-on: must have at most 10 items",
        "14:17 pipelines.default[0].step.clone.depth: must be >= 1, found 0",
        "14:27 pipelines.default[0].step.clone.enabled: must be true or false, found \"maybe\"",
        '17:19 pipelines.default[1].step.on-fail.strategy: must be one of "fail", "ignore", "retry", found "skip"',
        "18:16 pipelines.default[1].step.oidc.audiences: must not be an empty list",
        "19:9 pipelines.default[1].step.concurrency-group: concurrency-group must be a name (steps with the same name run one at a time across the application's builds)",
        '20:20 pipelines.default[1].step.services[0]: service "postgres" is not defined under definitions.services',
      ]);
      assert.deepEqual(result.warnings.map((w) => `${w.line}: ${w.message}`), [
        "3: skip-ssl-verify has no effect: Pipelines for Bitbucket always verifies Bitbucket's certificate",
      ]);
    });
  });
});
