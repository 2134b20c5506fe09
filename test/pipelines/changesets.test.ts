import assert from "node:assert/strict";
import { changesetMatches, type StepCondition } from "../../src/pipelines";

const include = (...includePaths: string[]): StepCondition => ({ includePaths, excludePaths: [] });
const exclude = (...excludePaths: string[]): StepCondition => ({ includePaths: [], excludePaths });

describe("changesetMatches", () => {
  it("runs a step without a condition", () => {
    assert.equal(changesetMatches(undefined, []), true);
    assert.equal(changesetMatches(undefined, ["a"]), true);
  });

  it("runs a conditional step when the changes are unknown", () => {
    assert.equal(changesetMatches(include("src/**"), null), true);
    assert.equal(changesetMatches(include("src/**"), undefined), true);
  });

  it("runs when any changed file matches includePaths", () => {
    assert.equal(changesetMatches(include("src/**"), ["README.md", "src/a/b.ts"]), true);
    assert.equal(changesetMatches(include("src/**"), ["README.md", "docs/x.md"]), false);
    assert.equal(changesetMatches(include("locales/en.json"), ["locales/en.json"]), true);
    assert.equal(changesetMatches(include("locales/en.json"), ["locales/de.json"]), false);
  });

  it("uses path globs: `*` stays in a directory, `**` goes below", () => {
    assert.equal(changesetMatches(include("path1/*.xml"), ["path1/a.xml"]), true);
    assert.equal(changesetMatches(include("path1/*.xml"), ["path1/deep/a.xml"]), false);
    assert.equal(changesetMatches(include("path1/**"), ["path1/deep/a.xml"]), true);
    assert.equal(changesetMatches(include("{api,web}/**"), ["web/index.html"]), true);
  });

  it("skips a step whose changed files are all excluded", () => {
    assert.equal(changesetMatches(exclude("docs/**", "*.md"), ["docs/a.md", "README.md"]), false);
    assert.equal(changesetMatches(exclude("docs/**", "*.md"), ["docs/a.md", "src/main.ts"]), true);
  });

  it("needs an included file that is not excluded when both are given", () => {
    const both: StepCondition = { includePaths: ["src/**"], excludePaths: ["**/*.test.ts"] };
    assert.equal(changesetMatches(both, ["src/a.test.ts"]), false);
    assert.equal(changesetMatches(both, ["src/a.test.ts", "src/a.ts"]), true);
    assert.equal(changesetMatches(both, ["lib/a.ts"]), false);
  });

  it("runs no conditional step for a push that changed nothing", () => {
    assert.equal(changesetMatches(include("**"), []), false);
    assert.equal(changesetMatches(exclude("*.md"), []), false);
  });
});
