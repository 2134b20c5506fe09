import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import YAML from "yaml";
import { formatDiagnostic, parsePipelineFile, type Diagnostic, type ParseResult } from "../../src/pipelines";
import { formatConfigPath } from "../../src/pipelines/diagnostic";
import {
  ANNOTATION_KEYWORDS,
  KNOWN_KEYS,
  LOCAL_KEYWORDS,
  STRUCTURAL_KEYWORDS,
  keywordsUsed,
  officialSchema,
  relaxSchema,
} from "../../src/pipelines/schema";
import { FIXTURES_DIR, INVALID_FIXTURE, fixtureFiles, readFixture } from "./fixtures";

function show(list: readonly Diagnostic[]): string {
  return list.map((d) => formatDiagnostic(d)).join("\n");
}

function parseOk(text: string) {
  const result = parsePipelineFile(text);
  assert.ok(result.ok, `expected no errors, got:\n${result.ok ? "" : show(result.errors)}`);
  return result;
}

function parseFail(text: string): Extract<ParseResult, { ok: false }> {
  const result = parsePipelineFile(text);
  assert.ok(!result.ok, "expected errors, got none");
  return result;
}

const STEP = "    - step:\n        script:\n          - echo hi\n";

/** Indents every non-empty line by `n` spaces. */
function indent(text: string, n: number): string {
  return text.replace(/^(?=.)/gm, " ".repeat(n));
}

describe("parsePipelineFile", () => {
  describe("the real-world fixtures", () => {
    // Warnings each fixture is expected to produce (all others: none). Each is a place where the official
    // schema is stricter than Bitbucket, or where the file has a harmless slip; see schema-check.ts.
    const expectedWarnings: Record<string, { line: number; match: RegExp }[]> = {
      // A service variable written as a number: the schema wants a string; Bitbucket reads it as "1".
      "01-ktomk-pipelines.yml": [{ line: 410, match: /expected a string, found 1; it is read as the text "1"/ }],
      // Duplicate `master` key (last wins) and Mercurial `bookmarks`.
      "02-ktomk-pipelines.yml": [
        { line: 46, match: /duplicate key "master" \(also on line 41\)/ },
        { line: 64, match: /"bookmarks" pipelines are for Mercurial/ },
      ],
      // `- #- ./...` is an empty script item (a commented-out line); reused by six pipelines, reported once.
      "04-4Science-DSpace.yml": [{ line: 100, match: /empty script line; it is skipped/ }],
    };

    it("has the corpus the tests expect", () => {
      assert.ok(fixtureFiles().length >= 19, `only ${fixtureFiles().length} fixtures in ${FIXTURES_DIR}`);
      assert.ok(fixtureFiles().includes(INVALID_FIXTURE));
    });

    // The fixtures inspected one by one; a file added to the corpus later must parse, and its warnings get
    // checked here once someone has looked at them.
    const inspected = (file: string) => /^(0[1-9]|1[0-9])-/.test(file);

    for (const file of fixtureFiles().filter((f) => f !== INVALID_FIXTURE)) {
      it(`parses ${file}`, () => {
        const result = parseOk(readFixture(file));
        assert.equal(typeof result.config.pipelines, "object");
        if (!inspected(file)) return;
        const expected = expectedWarnings[file] ?? [];
        assert.equal(result.warnings.length, expected.length, `warnings:\n${show(result.warnings)}`);
        expected.forEach((want, i) => {
          const got = result.warnings[i] as Diagnostic;
          assert.equal(got.line, want.line, formatDiagnostic(got));
          assert.match(got.message, want.match);
        });
      });
    }

    describe("agreement with Atlassian's schema (validated as published, with ajv)", () => {
      // Where we deliberately differ from the published schema, and why (see PROVENANCE.md beside the fixtures).
      const disagreements: Record<string, string> = {
        // Real, working configuration: `MYSQL_RANDOM_ROOT_PASSWORD: 1` is a number where the schema wants text;
        // Bitbucket reads it as the text "1". We warn instead of refusing.
        "01-ktomk-pipelines.yml": "schema: invalid; ours: valid with a warning",
        // `- #- ./script.sh` is an empty script item (a commented-out line): we skip it with a warning.
        "04-4Science-DSpace.yml": "schema: invalid; ours: valid with a warning",
        // The schema requires no top-level key; without `pipelines` Bitbucket runs nothing, so we refuse the file.
        [INVALID_FIXTURE]: "schema: valid; ours: invalid",
      };
      const ajv = new Ajv({ strict: false, allErrors: true });
      addFormats(ajv);
      const validateOfficial = ajv.compile(officialSchema);

      for (const file of fixtureFiles()) {
        it(`${file}: ${disagreements[file] ?? "same verdict"}`, () => {
          const text = readFixture(file);
          const official = validateOfficial(YAML.parse(text, { merge: true, uniqueKeys: false })) === true;
          const ours = parsePipelineFile(text).ok;
          const verdict = (ok: boolean) => (ok ? "valid" : "invalid");
          const expected = disagreements[file] ?? `schema: ${verdict(ours)}; ours: ${verdict(ours)}`;
          const hasWarnings = ours && parsePipelineFile(text).warnings.length > 0;
          assert.equal(`schema: ${verdict(official)}; ours: ${verdict(ours)}${hasWarnings && disagreements[file] ? " with a warning" : ""}`, expected);
        });
      }
    });

    it(`rejects ${INVALID_FIXTURE}: it has no "pipelines" section`, () => {
      const result = parseFail(readFixture(INVALID_FIXTURE));
      assert.equal(result.errors.length, 1, show(result.errors));
      const error = result.errors[0] as Diagnostic;
      assert.match(error.message, /bitbucket-pipelines\.yml has no "pipelines" section/);
      assert.match(error.message, /the top level has "develop"/);
      assert.equal(error.line, 1);
      assert.equal(error.column, 1);
      assert.equal(
        formatDiagnostic(error, INVALID_FIXTURE),
        `${INVALID_FIXTURE}:1:1: ${error.message}`,
      );
      // Its duplicate `develop` key and the unknown top-level key are warnings on line 13.
      assert.deepEqual(result.warnings.map((w) => w.line), [13, 13]);
      assert.match(show(result.warnings), /duplicate key "develop" \(also on line 1\)/);
      assert.match(show(result.warnings), /unknown key "develop" is ignored/);
    });
  });

  describe("YAML syntax", () => {
    it("reports a syntax error with its line and column, without the library's code excerpt", () => {
      const result = parseFail("pipelines:\n  default:\n    - step:\n      script: [a\n  branches: {}\n");
      const error = result.errors[0] as Diagnostic;
      assert.equal(typeof error.line, "number");
      assert.ok((error.line as number) >= 4, formatDiagnostic(error));
      assert.equal(typeof error.column, "number");
      assert.doesNotMatch(error.message, /at line \d+/);
      assert.doesNotMatch(error.message, /\n/);
    });

    it("reports a bad indentation on the line where it happens", () => {
      const result = parseFail("pipelines:\n  default:\n    - step:\n        script:\n          - a\n       name: x\n");
      assert.equal(result.errors[0]?.line, 6, show(result.errors));
    });

    it("reports an alias to an anchor that does not exist, at the alias", () => {
      const result = parseFail("pipelines:\n  default: *missing\n");
      assert.match(result.errors[0]?.message ?? "", /alias/i);
      assert.equal(result.errors[0]?.line, 2);
    });

    it("rejects several YAML documents in one file", () => {
      const result = parseFail(`pipelines:\n  default:\n${STEP}---\nimage: x\n`);
      assert.match(result.errors[0]?.message ?? "", /multiple documents/);
    });

    it("accepts a leading document marker", () => {
      parseOk(`---\npipelines:\n  default:\n${STEP}`);
    });
  });

  describe("anchors, aliases and merge keys", () => {
    const text = [
      "definitions:",
      "  steps:",
      "    - step: &build",
      "        name: Build",
      "        script:",
      "          - make",
      "  base: &base",
      "    name: Base",
      "    max-time: 5",
      "    script:",
      "      - echo base",
      "pipelines:",
      "  default:",
      "    - step: *build",
      "    - step:",
      "        <<: *base",
      "        name: Merged",
      "  branches:",
      "    main:",
      "      - step:",
      "          <<: [*base, *build]",
      "",
    ].join("\n");

    it("resolves aliases and `<<` merges (explicit keys win; earlier merge sources win)", () => {
      const { config } = parseOk(text);
      const items = config.pipelines.default as { step: Record<string, unknown> }[];
      assert.deepEqual(items[0]?.step, { name: "Build", script: ["make"] });
      assert.deepEqual(items[1]?.step, { name: "Merged", "max-time": 5, script: ["echo base"] });
      const main = (config.pipelines.branches as Record<string, { step: Record<string, unknown> }[]>).main;
      assert.equal(main?.[0]?.step.name, "Base");
    });

    it("places an error inside an anchored node on the anchor's line, once, however many aliases use it", () => {
      const broken = text.replace("    max-time: 5", '    max-time: "5m"');
      const result = parseFail(broken);
      assert.equal(result.errors.length, 1, show(result.errors));
      assert.equal(result.errors[0]?.line, 9);
      assert.match(result.errors[0]?.message ?? "", /must be a whole number, found "5m"/);
    });

    it("places an error on a key written beside a merge on its own line", () => {
      const result = parseFail(text.replace("        name: Merged", "        name: Merged\n        trigger: later"));
      assert.equal(result.errors[0]?.line, 18);
      assert.equal(result.errors[0]?.path, "pipelines.default[1].step.trigger");
    });
  });

  describe("our own rules", () => {
    it("requires a pipelines section", () => {
      const result = parseFail("image: node:20\n");
      assert.match(result.errors[0]?.message ?? "", /has no "pipelines" section/);
      assert.doesNotMatch(result.errors[0]?.message ?? "", /the top level has/, "image is a known key, no hint needed");
    });

    it("rejects an empty file and a file that is not a mapping", () => {
      assert.match(parseFail("").errors[0]?.message ?? "", /is empty/);
      assert.match(parseFail("# only a comment\n").errors[0]?.message ?? "", /is empty/);
      assert.match(parseFail("- a\n- b\n").errors[0]?.message ?? "", /must be a mapping .* not a list/);
      assert.match(parseFail("just text\n").errors[0]?.message ?? "", /not a single value/);
    });

    it("rejects a pipelines section that is empty or defines nothing runnable", () => {
      assert.match(parseFail("pipelines:\n").errors[0]?.message ?? "", /must be a mapping, found an empty value/);
      assert.match(parseFail("pipelines: {}\n").errors[0]?.message ?? "", /defines no pipeline/);
      assert.match(parseFail("pipelines:\n  branches: {}\n").errors[0]?.message ?? "", /defines no pipeline/);
    });
  });

  describe("the official schema", () => {
    it("reports an unknown key as a warning, not an error, at the key", () => {
      const result = parseOk("pipelines:\n  default:\n    - step:\n        script: [a]\n      note: hi\n");
      assert.equal(result.warnings.length, 1);
      assert.deepEqual(
        { line: result.warnings[0]?.line, column: result.warnings[0]?.column, path: result.warnings[0]?.path },
        { line: 5, column: 7, path: "pipelines.default[0].note" },
      );
      assert.match(result.warnings[0]?.message ?? "", /unknown key "note" is ignored \(expected "step"\)/);
    });

    it("warns about unknown keys at the top level and in the pipelines section (typos)", () => {
      const result = parseOk(`imgae: node\npipelines:\n  default:\n${STEP}  branch:\n    main:\n${STEP}`);
      assert.deepEqual(result.warnings.map((w) => [w.line, w.path]), [
        [1, "imgae"],
        [7, "pipelines.branch"],
      ]);
    });

    it("warns about an unknown step option that is no misspelling, and accepts keys the schema leaves open (definitions.steps)", () => {
      const result = parseOk(`definitions:\n  steps:\n    - step: &s\n        script: [a]\npipelines:\n  default:\n    - step:\n        brand-new-option: true\n        script: [a]\n`);
      assert.deepEqual(result.warnings.map((w) => [w.line, w.path, w.message]), [[8, "pipelines.default[0].step.brand-new-option", 'unknown key "brand-new-option" is ignored']]);
    });

    it("reports a wrong value with its line, column and path", () => {
      const result = parseFail("pipelines:\n  default:\n    - step:\n        max-time: soon\n        script: [a]\n");
      assert.deepEqual(result.errors, [
        { line: 4, column: 9, path: "pipelines.default[0].step.max-time", message: 'must be a whole number, found "soon"' },
      ]);
    });

    it("explains an item that is neither a step, a parallel group nor a stage, once", () => {
      const result = parseFail("pipelines:\n  default:\n    - stepp:\n        script: [a]\n");
      assert.equal(result.errors.length, 1, show(result.errors));
      assert.equal(result.errors[0]?.line, 3);
      assert.equal(
        result.errors[0]?.message,
        'expected a mapping with "step", a mapping with "parallel" or a mapping with "stage", found a mapping with key "stepp"',
      );
    });

    it("reports only the real problem inside a step, not every oneOf branch", () => {
      const result = parseFail("pipelines:\n  default:\n    - step:\n        trigger: later\n        script: [a]\n");
      assert.equal(result.errors.length, 1, show(result.errors));
      assert.match(result.errors[0]?.message ?? "", /must be one of "automatic", "manual", found "later"/);
    });

    it("explains clone depth mistakes", () => {
      const pipelines = `pipelines:\n  default:\n${STEP}`;
      assert.match(parseFail(`clone:\n  depth: fulll\n${pipelines}`).errors[0]?.message ?? "", /expected a whole number or one of "full", found "fulll"/);
      assert.match(parseFail(`clone:\n  depth: 0\n${pipelines}`).errors[0]?.message ?? "", /must be >= 1, found 0/);
      parseOk(`clone:\n  depth: full\n${pipelines}`);
    });

    it("rejects a condition on a step inside a stage", () => {
      const result = parseFail(
        "pipelines:\n  default:\n    - stage:\n        steps:\n          - step:\n              condition:\n                changesets:\n                  includePaths: [a]\n              script: [a]\n",
      );
      assert.equal(result.errors[0]?.line, 6);
      assert.match(result.errors[0]?.message ?? "", /is not allowed here/);
    });

    it("rejects a script that is not a list, and a malformed pipe", () => {
      assert.match(parseFail("pipelines:\n  default:\n    - step:\n        script: make\n").errors[0]?.message ?? "", /must be a list, found "make"/);
      assert.match(
        parseFail("pipelines:\n  default:\n    - step:\n        script:\n          - pip: x\n").errors[0]?.message ?? "",
        /expected a string or a mapping with "pipe"/,
      );
    });

    it("reads numbers and booleans where text is expected as text, with a warning", () => {
      const result = parseOk("pipelines:\n  default:\n    - step:\n        name: 2\n        script:\n          - true\n");
      assert.deepEqual(result.warnings.map((w) => [w.line, w.message]), [
        [4, 'expected a string, found 2; it is read as the text "2"'],
        [6, 'expected a string, found true; it is read as the text "true"'],
      ]);
    });

    it("skips an empty script line with a warning (a commented-out `- #...` line)", () => {
      const result = parseOk("pipelines:\n  default:\n    - step:\n        script:\n          - echo a\n          - # - echo b\n          - echo c\n");
      assert.equal(result.warnings.length, 1);
      assert.equal(result.warnings[0]?.line, 6);
      assert.match(result.warnings[0]?.message ?? "", /empty script line/);
    });

    it("warns about a pull-request entry that is a mapping without destinations", () => {
      const result = parseOk(`pipelines:\n  default:\n${STEP}  pull-requests:\n    '**':\n      destination:\n        main: []\n`);
      assert.equal(result.warnings.length, 1, show(result.warnings));
      assert.equal(result.warnings[0]?.line, 7);
      assert.match(result.warnings[0]?.message ?? "", /without "destinations", so it never runs/);
    });

    it("accepts pull-request destinations and custom pipeline variables", () => {
      parseOk(
        "pipelines:\n  pull-requests:\n    '**':\n      destinations:\n        main:\n          - step: {script: [a]}\n  custom:\n    deploy:\n      - variables:\n          - name: ENV\n            default: staging\n            allowed-values: [staging, production]\n      - step: {script: [a]}\n",
      );
    });
  });

  describe("duplicate keys and key spelling", () => {
    it("keeps the last of duplicate keys and warns at the later one", () => {
      const result = parseOk(`pipelines:\n  branches:\n    main:\n${indent(STEP.replace("echo hi", "echo one"), 2)}    main:\n${indent(STEP.replace("echo hi", "echo two"), 2)}`);
      const main = (result.config.pipelines.branches as Record<string, { step: { script: string[] } }[]>).main;
      assert.deepEqual(main?.[0]?.step.script, ["echo two"]);
      assert.equal(result.warnings.length, 1);
      assert.equal(result.warnings[0]?.line, 7);
    });

    it("keeps keys as written: tag `1.0` is not the number 1", () => {
      const { config } = parseOk(`pipelines:\n  tags:\n    1.0:\n${indent(STEP, 2)}    2:\n${indent(STEP, 2)}`);
      assert.deepEqual(Object.keys(config.pipelines.tags as object).sort(), ["1.0", "2"]);
    });
  });

  it("never throws, whatever the input", () => {
    const inputs = ["\t", ": :", "pipelines: [1, 2]", "pipelines:\n  default: 5\n", "{{{", "a: &a [*a]", "pipelines:\n  custom:\n    x: {import: 'a:b:c'}\n", "\u0000"];
    for (const input of inputs) assert.doesNotThrow(() => parsePipelineFile(input), JSON.stringify(input));
  });
});

describe("the bundled schema", () => {
  it("is a verbatim copy of the official schema in the shared fixtures", () => {
    const fixture = JSON.parse(readFileSync(path.join(FIXTURES_DIR, "bitbucket-pipelines.schema.json"), "utf8")) as unknown;
    assert.deepEqual(officialSchema, fixture);
  });

  it("uses no keyword the schema check does not understand", () => {
    const understood = new Set<string>([...LOCAL_KEYWORDS, ...STRUCTURAL_KEYWORDS, ...ANNOTATION_KEYWORDS]);
    const unknown = [...keywordsUsed(relaxSchema(officialSchema))].filter((k) => !understood.has(k));
    assert.deepEqual(unknown, []);
  });

  it("is relaxed without changing the original: closed mappings become known keys, single-key wrappers required", () => {
    const relaxed = relaxSchema(officialSchema) as { components: { schemas: Record<string, Record<string, unknown>> } };
    const stepItem = relaxed.components.schemas.step_item as Record<string, unknown>;
    assert.equal(stepItem.additionalProperties, undefined);
    assert.deepEqual(stepItem[KNOWN_KEYS], ["step"]);
    assert.deepEqual(stepItem.required, ["step"]);
    const original = (officialSchema.components as { schemas: Record<string, Record<string, unknown>> }).schemas.step_item;
    assert.equal(original?.additionalProperties, false);
    assert.equal(original?.required, undefined);
  });
});

describe("formatDiagnostic", () => {
  it("prints file:line:column: path: message", () => {
    assert.equal(formatDiagnostic({ line: 12, column: 5, message: "boom" }), "bitbucket-pipelines.yml:12:5: boom");
    assert.equal(formatDiagnostic({ line: 12, column: 5, path: "pipelines.default", message: "boom" }, "ci.yml"), "ci.yml:12:5: pipelines.default: boom");
    assert.equal(formatDiagnostic({ line: 3, message: "boom" }, "ci.yml", "warning"), "ci.yml:3: warning: boom");
    assert.equal(formatDiagnostic({ message: "boom" }), "bitbucket-pipelines.yml: boom");
  });

  it("renders config paths readably", () => {
    assert.equal(formatConfigPath(["pipelines", "branches", "feature/*", 0, "step", "script", 1]), 'pipelines.branches["feature/*"][0].step.script[1]');
    assert.equal(formatConfigPath(["pipelines", "pull-requests", "**"]), 'pipelines.pull-requests["**"]');
    assert.equal(formatConfigPath([]), "");
  });
});
