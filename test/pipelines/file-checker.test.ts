import assert from "node:assert/strict";
import { checkPipelineFile, type FileCheckResult } from "../../src/pipelines/check-file";
import { formatDiagnostic } from "../../src/pipelines";
import { PipelineFileChecker } from "../../src/pipelines/worker/file-checker";
import { readFixture } from "./fixtures";
import { aliasAmplification } from "./hostile-files";

/** The longest pause of this thread's event loop while `work` runs, measured with a 5 ms ticker. */
async function longestPause<T>(work: () => Promise<T>): Promise<{ result: T; pauseMs: number }> {
  let last = performance.now();
  let pauseMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    pauseMs = Math.max(pauseMs, now - last);
    last = now;
  }, 5);
  try {
    const result = await work();
    return { result, pauseMs: Math.max(pauseMs, performance.now() - last) };
  } finally {
    clearInterval(ticker);
  }
}

describe("PipelineFileChecker (worker threads with a time budget)", () => {
  const checkers: PipelineFileChecker[] = [];
  const make = (...args: ConstructorParameters<typeof PipelineFileChecker>) => {
    const checker = new PipelineFileChecker(...args);
    checkers.push(checker);
    return checker;
  };
  after(async () => {
    await Promise.all(checkers.map((c) => c.close()));
  });

  it("answers exactly what checking the file in this thread answers (fixture 03: selection, plan, custom pipelines)", async () => {
    const checker = make();
    await checker.ready();
    const request = {
      text: readFixture("03-4Science-dspace-angular.yml"),
      triggers: [{ kind: "branch" as const, branch: "main-cris" }, { kind: "tag" as const, tag: "v1" }, { kind: "custom" as const, name: "deploy-on-dev" }],
      listCustom: true,
    };
    const inWorker = await checker.check(request);
    assert.equal(inWorker.ok, true);
    assert.deepEqual(inWorker, checkPipelineFile(request));
    assert.equal(inWorker.selections[0]?.name, "branches: main-cris");
    assert.equal(inWorker.selections[1], null);
    assert.ok((inWorker.selections[0]?.plan.steps.length ?? 0) > 0);
    assert.deepEqual(inWorker.custom.map((c) => c.name).slice(0, 2), ["e2e-on-custom-backend", "deploy-on-dev"]);
  });

  it("refuses a hostile file with its line and column, across the thread", async () => {
    const checker = make();
    const { text, firstAliasLine } = aliasAmplification(120);
    const result = await checker.check({ text, triggers: [{ kind: "branch", branch: "main" }] });
    assert.equal(result.ok, false);
    assert.match(formatDiagnostic(result.errors[0] as FileCheckResult["errors"][number]), new RegExp(`^bitbucket-pipelines\\.yml:${firstAliasLine + 18}:13: alias \\*s stands for 1,005 nodes, .*\\(the node limit for a pipeline file\\)`));
  });

  it("stops a file that overruns its time budget, says so, and keeps answering with a fresh worker", async () => {
    // Limits raised so far that only the budget stands between this file (2 million nodes: seconds of work) and the service.
    const checker = make({ timeBudgetMs: 150, limits: { maxBytes: 16 * 1024 * 1024, maxDepth: 64, maxNodes: 100_000_000 } });
    await checker.ready();
    const started = performance.now();
    const { result, pauseMs } = await longestPause(() => checker.check({ text: aliasAmplification(32).text }));
    const took = performance.now() - started;
    assert.equal(result.ok, false);
    assert.deepEqual(result.errors, [
      { line: 1, column: 1, message: "checking this file took longer than 150 ms (the time budget for a pipeline file), so it was stopped: make the file smaller or simpler" },
    ]);
    assert.ok(took < 1500, `the refusal took ${took.toFixed(0)} ms`);
    assert.ok(pauseMs < 200, `this thread's event loop paused for ${pauseMs.toFixed(0)} ms`);

    const next = await checker.check({ text: readFixture("13-atlassian-github-for-jira.yml"), triggers: [{ kind: "branch", branch: "ght-test-branch" }] });
    assert.equal(next.ok, true);
    assert.equal(next.selections[0]?.key, "branches/ght-test-branch");
  });

  it("keeps this thread's event loop free while files are checked, and answers them in order", async () => {
    const checker = make({ workers: 2 });
    await checker.ready();
    const texts = ["01-ktomk-pipelines.yml", "04-4Science-DSpace.yml", "10-56kyle-robust-python-demo.yml", "12-atlassian-atlascode.yml"].map(readFixture);
    const { result, pauseMs } = await longestPause(() => Promise.all([...texts, aliasAmplification(120).text].map((text) => checker.check({ text }))));
    assert.deepEqual(result.map((r) => r.ok), [true, true, true, true, false]);
    assert.ok(pauseMs < 200, `this thread's event loop paused for ${pauseMs.toFixed(0)} ms`);
  });

  it("refuses to check once stopped", async () => {
    const checker = make();
    await checker.close();
    await assert.rejects(checker.check({ text: "pipelines: {}" }), /stopped/);
  });
});
