import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import YAML from "yaml";
import { atMost, fmt, type Benchmark, type Check, type Figure } from "../lib/benchmark";
import { checkPipelineFile, type FileCheckRequest, type FileCheckResult, type Trigger } from "../../src/pipelines";
import { PipelineFileChecker, DEFAULT_TIME_BUDGET_MS } from "../../src/pipelines/worker/file-checker";
import { DEFAULT_LIMITS } from "../../src/pipelines/limits";
import {
  aliasAmplification,
  billionLaughs,
  deepFlowNesting,
  fileWithBranchPattern,
  hugeGlob,
  starPattern,
} from "../../test/pipelines/hostile-files";

/**
 * pipelines: what reading a pipeline file costs the service — parse + validate + select + plan — over the real files
 * in ../shared/fixtures/pipelines, and over crafted files (issue 15), each against `yaml.parse` of the same text in the
 * same run. The real files are timed in this thread (the pure cost) and through the service's worker pool (what a
 * build waits for); the crafted files through the pool, whose time budget bounds them.
 */

const ROUNDS = Number(process.env.BENCH_PIPELINES_ROUNDS ?? 30);
const CRAFTED_RUNS = Number(process.env.BENCH_PIPELINES_CRAFTED_RUNS ?? 3);
/** How long `yaml.parse` of a crafted file may run (in a thread of its own) before it is stopped. */
const YAML_DEADLINE_MS = 10_000;
/**
 * Validation walks every node against Atlassian's schema (choosing among `oneOf` forms as it goes), which costs about
 * as much again as parsing; selection and planning are small. Through the pool, a message each way is added.
 */
const REAL_RATIO_TARGET = 4;
const POOL_RATIO_TARGET = 4.5;
const FIXTURES = path.join(__dirname, "..", "..", "..", "shared", "fixtures", "pipelines");

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

/** What the service asks of a file: the pipeline for a few branches, a tag, a pull request, and every custom one. */
function requestFor(text: string): FileCheckRequest {
  const triggers: Trigger[] = [
    { kind: "branch", branch: "main" },
    { kind: "branch", branch: "master" },
    { kind: "branch", branch: "develop" },
    { kind: "branch", branch: "feature/login" },
    { kind: "tag", tag: "v1.0.0" },
    { kind: "pull-request", sourceBranch: "feature/login", destinationBranch: "main" },
  ];
  let custom: string[] = [];
  try {
    const parsed = YAML.parse(text, { merge: true, uniqueKeys: false }) as { pipelines?: { custom?: object } } | null;
    custom = Object.keys(parsed?.pipelines?.custom ?? {});
  } catch {
    // A file YAML cannot read asks for no custom pipeline.
  }
  return { text, triggers: [...triggers, ...custom.map((name): Trigger => ({ kind: "custom", name }))], listCustom: true };
}

function yamlParse(text: string): void {
  try {
    YAML.parse(text, { merge: true, uniqueKeys: false });
  } catch {
    // Broken files cost what they cost until the error.
  }
}

/** `yaml.parse` (default options) in a thread of its own, stopped after `deadlineMs`; its wall time, or undefined. */
function yamlParseInWorker(text: string, deadlineMs: number): Promise<{ ms?: number; outcome: string }> {
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const YAML = require(workerData.yaml);
     const started = performance.now();
     let outcome = "parsed";
     try { YAML.parse(workerData.text); } catch (err) { outcome = "threw: " + String(err.message).split("\\n")[0].slice(0, 70); }
     parentPort.postMessage({ ms: performance.now() - started, outcome });`,
    { eval: true, workerData: { text, yaml: require.resolve("yaml") } },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve({ outcome: `still running after ${fmt.ms(deadlineMs)}: stopped` });
    }, deadlineMs);
    worker.once("message", (m: { ms: number; outcome: string }) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(m);
    });
    worker.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

interface Crafted {
  name: string;
  request: FileCheckRequest;
  /** What the answer must say. */
  expect: (r: FileCheckResult) => boolean;
  expected: string;
}

const refusedWith = (pattern: RegExp) => (r: FileCheckResult) => !r.ok && pattern.test(r.errors[0]?.message ?? "");

function craftedFiles(): Crafted[] {
  // 99 steps (Bitbucket's limit is 100) of 26 commands each: just under the size limit, within the node limit.
  let largestValid = "pipelines:\n  default:\n";
  for (let i = 0; i < 99; i++) largestValid += `    - step:\n        name: Step ${i}\n        script:\n${"          - echo building part of the project\n".repeat(26)}`;
  return [
    { name: "alias amplification, 32 KB", request: { text: aliasAmplification(32).text }, expect: refusedWith(/the node limit/), expected: "the node limit" },
    { name: "alias amplification, 120 KB", request: { text: aliasAmplification(120).text }, expect: refusedWith(/the node limit/), expected: "the node limit" },
    { name: "alias amplification, 148 KB (the issue's)", request: { text: aliasAmplification(148).text }, expect: refusedWith(/the size limit/), expected: "the size limit" },
    { name: "billion laughs", request: { text: billionLaughs() }, expect: refusedWith(/the node limit/), expected: "the node limit" },
    { name: "800 levels of flow lists", request: { text: deepFlowNesting(800) }, expect: refusedWith(/the depth limit/), expected: "the depth limit" },
    { name: "32,768-character glob (quoted key)", request: { text: fileWithBranchPattern(hugeGlob()) }, expect: refusedWith(/a glob may have at most/), expected: "the glob length limit" },
    {
      name: "32,768-character glob (plain key: a YAML error per brace)",
      request: { text: `pipelines:\n  branches:\n    ${hugeGlob()}:\n      - step: {script: [a]}\n` },
      expect: (r) => !r.ok && r.errors.length === 21,
      expected: "YAML errors, 20 listed",
    },
    {
      name: `${DEFAULT_LIMITS.maxBytes / 1024} KiB of YAML errors ({a,b} as a plain key)`,
      request: { text: `pipelines:\n  branches:\n    ${"{a,b}".repeat(Math.floor((DEFAULT_LIMITS.maxBytes - 100) / 5))}:\n      - step: {script: [a]}\n` },
      expect: (r) => !r.ok && r.errors.length === 21,
      expected: "YAML errors, 20 listed",
    },
    {
      name: '16 × "*a" then "*b" against a branch of 40 "a"s',
      request: { text: fileWithBranchPattern(starPattern(16)), triggers: [{ kind: "branch", branch: "a".repeat(40) }] },
      expect: (r) => r.ok && r.selections[0] === null,
      expected: "no pipeline",
    },
    {
      name: `a valid file near the size limit (${Math.round(largestValid.length / 1024)} KiB, 99 steps)`,
      request: requestFor(largestValid),
      expect: (r) => r.ok && r.selections[0]?.plan.steps.length === 99,
      expected: "valid, 99 steps planned",
    },
  ];
}

export const pipelines: Benchmark = {
  name: "pipelines",
  title: `parse + validate + select + plan of the real pipeline files and of crafted ones, vs yaml.parse of the same text; ${ROUNDS} rounds`,
  async run() {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith(".yml")).sort();
    const real = files.map((f) => requestFor(readFileSync(path.join(FIXTURES, f), "utf8")));
    const realBytes = real.reduce((n, r) => n + r.text.length, 0);
    const checker = new PipelineFileChecker();
    try {
      await checker.ready();

      // Real files: in this thread, and through the pool, against yaml.parse; per round, every file once each way.
      for (let i = 0; i < 5; i++) {
        for (const r of real) {
          yamlParse(r.text);
          checkPipelineFile(r);
        }
      }
      for (const r of real) await checker.check(r);
      const yamlMs: number[] = [];
      const checkMs: number[] = [];
      const poolMs: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        let y = 0;
        let c = 0;
        let p = 0;
        for (const r of real) {
          let t = performance.now();
          yamlParse(r.text);
          y += performance.now() - t;
          t = performance.now();
          checkPipelineFile(r);
          c += performance.now() - t;
          t = performance.now();
          await checker.check(r);
          p += performance.now() - t;
        }
        yamlMs.push(y);
        checkMs.push(c);
        poolMs.push(p);
      }
      const yamlMedian = median(yamlMs);
      const checkMedian = median(checkMs);
      const poolMedian = median(poolMs);
      const realVerdicts = real.map((r) => checkPipelineFile(r).ok);

      // Crafted files, through the pool; yaml.parse of each in a thread of its own, with a deadline.
      const crafted = craftedFiles();
      const rows: { c: Crafted; ms: number; answer: FileCheckResult; yaml: { ms?: number; outcome: string } }[] = [];
      for (const c of crafted) {
        const times: number[] = [];
        let answer: FileCheckResult | undefined;
        for (let i = 0; i < CRAFTED_RUNS; i++) {
          const t = performance.now();
          answer = await checker.check(c.request);
          times.push(performance.now() - t);
        }
        rows.push({ c, ms: median(times), answer: answer as FileCheckResult, yaml: await yamlParseInWorker(c.request.text, YAML_DEADLINE_MS) });
      }
      const worst = rows.reduce((a, b) => (b.ms > a.ms ? b : a));
      const byBudget = rows.filter((r) => /time budget/.test(r.answer.errors[0]?.message ?? ""));
      const wrong = rows.filter((r) => !r.c.expect(r.answer));

      const figures: Figure[] = [
        { label: "real files", value: `${files.length} files, ${fmt.count(realBytes)} bytes; ${real.reduce((n, r) => n + (r.triggers?.length ?? 0), 0)} selections; ${realVerdicts.filter(Boolean).length} valid` },
        { label: "yaml.parse, all real files", value: `${fmt.ms(yamlMedian)} median of ${ROUNDS} rounds` },
        { label: "check in this thread", value: `${fmt.ms(checkMedian)} median = ${fmt.ratio(checkMedian / yamlMedian)} yaml.parse` },
        { label: "check through the pool", value: `${fmt.ms(poolMedian)} median = ${fmt.ratio(poolMedian / yamlMedian)} yaml.parse (${fmt.ms(poolMedian / files.length)} a file)` },
        ...rows.map((r) => ({
          label: `crafted: ${r.c.name}`,
          value: `${fmt.ms(r.ms)} through the pool → ${r.answer.ok ? (r.answer.selections[0] ? "valid" : "valid, no pipeline") : r.answer.errors[0]?.message.slice(0, 60)}…; yaml.parse ${r.yaml.ms === undefined ? r.yaml.outcome : `${fmt.ms(r.yaml.ms)} (${r.yaml.outcome})${r.yaml.ms > 0 ? ` = ${fmt.ratio(r.ms / r.yaml.ms)}` : ""}`}`,
        })),
        { label: "limits", value: `${fmt.count(DEFAULT_LIMITS.maxBytes)} bytes, ${DEFAULT_LIMITS.maxDepth} levels, ${fmt.count(DEFAULT_LIMITS.maxNodes)} nodes; time budget ${fmt.ms(DEFAULT_TIME_BUDGET_MS)}` },
      ];
      const checks: Check[] = [
        atMost("real files: check in this thread / yaml.parse (medians)", checkMedian / yamlMedian, REAL_RATIO_TARGET, fmt.ratio),
        atMost("real files: check through the pool / yaml.parse (medians)", poolMedian / yamlMedian, POOL_RATIO_TARGET, fmt.ratio),
        atMost(`worst crafted file (${worst.c.name}) through the pool, within its budget`, worst.ms, DEFAULT_TIME_BUDGET_MS, fmt.ms),
        {
          name: "every crafted file answered by a limit or a result, none by the time budget, each as expected",
          measured: byBudget.length === 0 && wrong.length === 0 ? "yes" : [...byBudget, ...wrong].map((r) => `${r.c.name}: ${r.answer.errors[0]?.message ?? "ok"} (expected ${r.c.expected})`).join("; "),
          pass: byBudget.length === 0 && wrong.length === 0,
        },
        {
          name: "real files: all valid but the one without a pipelines section",
          measured: `${realVerdicts.filter(Boolean).length} of ${files.length}`,
          pass: realVerdicts.filter((ok) => !ok).length === 1,
        },
      ];
      return { figures, checks };
    } finally {
      await checker.close();
    }
  },
};
