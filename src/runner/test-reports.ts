import { constants, type Dirent } from "node:fs";
import { lstat, mkdtemp, open, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SaxesParser, type SaxesTagPlain } from "saxes";
import { matchGlob } from "../pipelines";
import type { JobSandbox } from "./executors/executor";
import { LeaseLostError, MAX_FAILURE_OUTPUT, MAX_TEST_FAILURES, type LeaseRef, type RunnerProtocol, type TestFailure, type TestReportSummary } from "./runner-protocol";

/**
 * Test reports after a step (JUnit, Maven Surefire/Failsafe, xUnit.net and NUnit XML), found where Bitbucket looks —
 * `**∕{surefire-reports,failsafe-reports,test-results,test-reports,TestResults}/**∕*.xml` "with a directory depth of 3
 * levels" (read here as: a report directory at most 3 levels below the clone directory, and report files at most 3
 * levels inside it) — and among the files the step declares as artifacts (`artifacts: upload: [{type: test-reports,
 * paths}]` reaches the plan as artifact paths), XML files only.
 *
 * The step's files are hostile: its tree is only listed (readdir, links never followed, only regular files kept),
 * the chosen files are copied out by the executor (as the step's user; a link stays a link) into a fresh directory
 * of the runner's, and only those copies are read — a copy that is not a regular file is refused, and it is opened
 * with O_NOFOLLOW. The XML is parsed with saxes, which expands no entity but XML's five: a file that declares a
 * DOCTYPE is refused at once (no report needs one; an entity bomb never gets to expand). Sizes are capped per file
 * and in total, and the whole search has a time budget. A report that cannot be read is a warning in the step's
 * log, never a failure of the step.
 */

/** Directory names where reports are looked for (Bitbucket's list). */
export const REPORT_DIRS = ["surefire-reports", "failsafe-reports", "test-results", "test-reports", "TestResults"];

export interface TestReportLimits {
  /** A report directory may be this many directory levels below the clone directory (the directory itself counted). */
  reportDirDepth: number;
  /** Report files may be this many directory levels inside a report directory. */
  depthInReportDir: number;
  /** Declared (artifact) XML files are looked for this deep. */
  declaredDepth: number;
  /** Entries of the step's tree listed at most; a bigger tree is searched only that far. */
  maxEntries: number;
  maxFiles: number;
  maxFileBytes: number;
  maxTotalBytes: number;
  /** For the whole search: listing, copying and parsing. */
  budgetMs: number;
}

export const DEFAULT_LIMITS: TestReportLimits = {
  reportDirDepth: 3,
  depthInReportDir: 3,
  declaredDepth: 12,
  maxEntries: 100_000,
  maxFiles: 200,
  maxFileBytes: 8 * 1024 * 1024,
  maxTotalBytes: 32 * 1024 * 1024,
  budgetMs: 20_000,
};

export interface CollectOptions {
  job: Pick<JobSandbox, "copyOut">;
  /** The finished step's work tree on the runner's disk. */
  stepDir: string;
  /** The step's artifact globs (relative to the clone directory). */
  declared: readonly string[];
  /** One warning line for the step's log (without the `[pipelines] warning: ` prefix). */
  warn(line: string): Promise<void>;
  limits?: Partial<TestReportLimits>;
}

interface Candidate {
  path: string;
  /** Found in one of Bitbucket's report directories (an unreadable one is worth a warning even when it is no report). */
  conventional: boolean;
}

/** Lists the step's tree with readdir only: regular `.xml` files (links are neither followed nor listed). */
async function listCandidates(stepDir: string, declared: readonly string[], l: TestReportLimits, deadline: number): Promise<{ files: Candidate[]; truncated: boolean }> {
  const files: Candidate[] = [];
  let seen = 0;
  let truncated = false;
  const maxDepth = Math.max(l.reportDirDepth + l.depthInReportDir, declared.length ? l.declaredDepth : 0);
  // `reportDepth`: levels below the nearest report directory (-1: not inside one).
  const walk = async (rel: string, depth: number, reportDepth: number): Promise<void> => {
    if (truncated) return;
    let entries: Dirent[];
    try {
      entries = await readdir(rel === "" ? stepDir : join(stepDir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++seen > l.maxEntries || Date.now() > deadline) {
        truncated = true;
        return;
      }
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (depth === 0 && e.name === ".git") continue;
        if (depth + 1 >= maxDepth) continue;
        const isReportDir = REPORT_DIRS.includes(e.name) && depth + 1 <= l.reportDirDepth;
        const inside = isReportDir ? 0 : reportDepth >= 0 ? reportDepth + 1 : -1;
        await walk(path, depth + 1, inside);
      } else if (e.isFile() && e.name.toLowerCase().endsWith(".xml")) {
        const conventional = reportDepth >= 0 && reportDepth < l.depthInReportDir;
        if (conventional || declared.some((g) => matchGlob(g, path))) files.push({ path, conventional });
      }
    }
  };
  await walk("", 0, -1);
  return { files, truncated };
}

/** Sums JUnit-style reports as they are parsed. */
class Tally {
  passed = 0;
  failed = 0;
  skipped = 0;
  failures: TestFailure[] = [];
}

/** A text gathered up to `max` characters. */
class Capped {
  text = "";
  constructor(private readonly max: number) {}
  add(s: string): void {
    if (this.text.length < this.max) this.text += s.slice(0, this.max - this.text.length);
  }
}

class NotAReport extends Error {}

const ROOTS = new Set(["testsuites", "testsuite", "assemblies", "assembly", "test-run", "test-results"]);

/**
 * Reads one report (its text) into `tally`: `<testcase>` of JUnit/Surefire (with `<failure>`, `<error>`, `<skipped>`,
 * `<system-out>`, `<system-err>`), `<test result="Pass|Fail|Skip">` of xUnit.net and `<test-case result=…>` of NUnit
 * (with `<failure><message/><stack-trace/></failure>`). Throws NotAReport when the root is none of theirs, and an
 * Error saying why for anything else (bad XML, a DOCTYPE, time up).
 */
export function parseReport(xml: string, tally: Tally, deadline: number): void {
  const parser = new SaxesParser({ xmlns: false, position: false });
  const stack: string[] = [];
  const suites: string[] = [];
  let current: { suite: string; name: string; state: "passed" | "failed" | "skipped"; message: string; failureText: Capped; out: Capped } | null = null;
  let capture: Capped | null = null;
  let failureMessage: Capped | null = null;
  parser.on("doctype", () => {
    throw new Error("it declares a DOCTYPE, which no test report needs (its entities are not read)");
  });
  parser.on("opentag", (tag: SaxesTagPlain) => {
    const name = tag.name;
    const attr = (a: string) => (typeof tag.attributes[a] === "string" ? (tag.attributes[a] as string) : "");
    if (stack.length === 0 && !ROOTS.has(name)) throw new NotAReport();
    stack.push(name);
    if (name === "testsuite" || name === "collection" || name === "test-suite") suites.push(attr("name"));
    if (name === "testcase" || name === "test" || name === "test-case") {
      const result = attr("result").toLowerCase();
      const state = result.startsWith("fail") ? "failed" : result.startsWith("skip") || result === "ignored" || result === "notrunnable" ? "skipped" : "passed";
      const suite = attr("classname") || attr("type") || suites.at(-1) || "";
      current = { suite, name: attr("name") || attr("fullname") || attr("method"), state, message: "", failureText: new Capped(MAX_FAILURE_OUTPUT), out: new Capped(MAX_FAILURE_OUTPUT) };
      return;
    }
    if (!current) return;
    if (name === "failure" || name === "error") {
      current.state = "failed";
      current.message ||= attr("message") || attr("type") || name;
      capture = current.failureText;
    } else if (name === "skipped" || name === "ignored") {
      if (current.state !== "failed") current.state = "skipped";
    } else if (name === "system-out" || name === "system-err" || name === "output") {
      capture = current.out;
    } else if (name === "message" && stack.includes("failure")) {
      failureMessage = new Capped(1000);
      capture = failureMessage;
    } else if (name === "stack-trace") {
      capture = current.failureText;
    }
  });
  const onText = (t: string) => {
    if (capture) capture.add(t);
  };
  parser.on("text", onText);
  parser.on("cdata", onText);
  parser.on("closetag", (tag: SaxesTagPlain) => {
    const name = stack.pop();
    if (name === "testsuite" || name === "collection" || name === "test-suite") suites.pop();
    if (name === "message" && failureMessage && current) {
      current.message = failureMessage.text.trim() || current.message;
      failureMessage = null;
    }
    if (name === "failure" || name === "error" || name === "system-out" || name === "system-err" || name === "output" || name === "message" || name === "stack-trace") capture = null;
    if ((tag.name === "testcase" || tag.name === "test" || tag.name === "test-case") && current) {
      const c = current;
      current = null;
      if (c.state === "failed") {
        tally.failed++;
        if (tally.failures.length < MAX_TEST_FAILURES) {
          const output = [c.failureText.text.trim(), c.out.text.trim()].filter(Boolean).join("\n").slice(0, MAX_FAILURE_OUTPUT);
          tally.failures.push({ suite: c.suite.slice(0, 500), name: c.name.slice(0, 500), message: c.message.trim().slice(0, 1000), output });
        }
      } else if (c.state === "skipped") tally.skipped++;
      else tally.passed++;
    }
  });
  const SLICE = 64 * 1024;
  for (let i = 0; i < xml.length; i += SLICE) {
    if (Date.now() > deadline) throw new Error("reading it took longer than the time test reports are given");
    parser.write(xml.slice(i, i + SLICE));
  }
  parser.close();
}

/** Reads a copy the runner made: a regular file (never a link), at most `max` bytes. */
async function readCopy(path: string, max: number): Promise<string> {
  const info = await lstat(path);
  if (!info.isFile()) throw new Error("it is not a regular file");
  if (info.size > max) throw new Error(`it is larger than ${Math.round(max / 1024 / 1024)} MiB`);
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.alloc(Math.min(info.size, max) + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > max) throw new Error(`it is larger than ${Math.round(max / 1024 / 1024)} MiB`);
    return buf.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
}

/**
 * Finds, copies out and reads the step's test reports. Resolves with their sum, or null when the step has none.
 * Never throws for what the step left behind: every problem is a `warn` line.
 */
export async function collectTestReports(o: CollectOptions): Promise<TestReportSummary | null> {
  const l = { ...DEFAULT_LIMITS, ...o.limits };
  const deadline = Date.now() + l.budgetMs;
  const { files: found, truncated } = await listCandidates(o.stepDir, o.declared, l, deadline);
  if (truncated) await o.warn(`test reports: the work tree is too large to search whole (more than ${l.maxEntries} entries, or ${l.budgetMs / 1000} s); reports past that are not read`);
  if (found.length === 0) return null;
  const tally = new Tally();
  let files = 0;
  let unreadable = 0;
  const unreadableFile = async (c: Candidate, why: string) => {
    unreadable++;
    await o.warn(`test report ${c.path} cannot be read: ${why}`);
  };
  const chosen = found.slice(0, l.maxFiles);
  if (found.length > l.maxFiles) await o.warn(`test reports: ${found.length} XML files found; only the first ${l.maxFiles} are read`);
  // Sizes before copying (lstat: the file itself, never what a link points at), so a huge file is not copied.
  const toCopy: Candidate[] = [];
  let total = 0;
  for (const c of chosen) {
    const info = await lstat(join(o.stepDir, c.path)).catch(() => null);
    if (!info?.isFile()) continue;
    if (info.size > l.maxFileBytes) await unreadableFile(c, `it is larger than ${Math.round(l.maxFileBytes / 1024 / 1024)} MiB`);
    else if (total + info.size > l.maxTotalBytes) await unreadableFile(c, `the step's reports add up to more than ${Math.round(l.maxTotalBytes / 1024 / 1024)} MiB`);
    else {
      total += info.size;
      toCopy.push(c);
    }
  }
  if (toCopy.length > 0) {
    const copies = await mkdtemp(join(tmpdir(), "pipelines-test-reports-"));
    try {
      await o.job.copyOut(o.stepDir, copies, toCopy.map((c) => c.path));
      for (const c of toCopy) {
        try {
          const xml = await readCopy(join(copies, c.path), l.maxFileBytes);
          // A report that turns out not to be one counts nothing; its counts go in only once it is read whole.
          const one = new Tally();
          parseReport(xml, one, deadline);
          tally.passed += one.passed;
          tally.failed += one.failed;
          tally.skipped += one.skipped;
          tally.failures.push(...one.failures.slice(0, MAX_TEST_FAILURES - tally.failures.length));
          files++;
        } catch (err) {
          if (err instanceof NotAReport) {
            if (c.conventional) await o.warn(`${c.path} is not a JUnit or xUnit test report (its root element is none of theirs); it is not counted`);
            continue;
          }
          await unreadableFile(c, reasonOf(err));
        }
      }
    } finally {
      await rm(copies, { recursive: true, force: true });
    }
  }
  if (files === 0 && unreadable === 0) return null;
  return { files, passed: tally.passed, failed: tally.failed, skipped: tally.skipped, failures: tally.failures, unreadable };
}

function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // saxes puts the position first ("1:2: …"): keep it, and one line.
  return message.split("\n")[0].slice(0, 300);
}

export interface ReportTestsOptions {
  api: RunnerProtocol;
  lease: LeaseRef;
  job: Pick<JobSandbox, "copyOut">;
  stepIndex: number;
  stepDir: string;
  declared: readonly string[];
  /** Writes one line of the runner's to the step's log. */
  say(line: string): Promise<void>;
  signal: AbortSignal;
}

/**
 * After a step's run: its test reports, summed and sent to the server (which shows them on the build's page and
 * counts failed tests in the commit status). Nothing here fails the step; only a lost lease goes on up.
 */
export async function reportTests(o: ReportTestsOptions): Promise<void> {
  if (o.signal.aborted) return;
  try {
    const summary = await collectTestReports({ job: o.job, stepDir: o.stepDir, declared: o.declared, warn: (line) => o.say(`warning: ${line}`) });
    if (!summary) return;
    const counts = `${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`;
    await o.say(`test reports: ${summary.files} file${summary.files === 1 ? "" : "s"} read: ${counts}`);
    await o.api.testReport(o.lease, o.stepIndex, summary);
  } catch (err) {
    if (err instanceof LeaseLostError) throw err;
    await o.say(`warning: test reports could not be read: ${reasonOf(err)}`).catch(() => undefined);
  }
}
