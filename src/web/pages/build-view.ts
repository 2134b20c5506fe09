import type { Build, Step } from "../../db/models";
import type { RepositoryWebLinks } from "../../forges/forge";
import { buildSummaryJson, stepJson } from "../../builds/build-json";
import type { Plan } from "../../pipelines";
import { sizeText } from "../../runner/artifacts";
import type { TestFailure } from "../../runner/runner-protocol";
import { LOG_COMPLETE } from "../api/build-step-log-get";
import type { RunnerNotes } from "./log-lines";

/** How a page shows a duration: `850 ms`, `42 s`, `3 min 05 s`, `1 h 02 min`. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** `2024-05-01 14:03 UTC`: the same for everyone on the page (shown on hover; the script may show local time). */
export function formatTime(d: Date | null): string {
  return d ? `${d.toISOString().slice(0, 16).replace("T", " ")} UTC` : "";
}

/** `just now`, `3 min ago`, `2 h ago`, `yesterday`, `5 days ago`, then the date; the page's script keeps it current. */
export function relativeTime(d: Date | null, now = Date.now()): string {
  if (!d) return "";
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 45) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  const days = Math.round(h / 24);
  if (days === 1) return "yesterday";
  if (days < 30) return `${days} days ago`;
  return d.toISOString().slice(0, 10);
}

/** A build or step state as a lozenge: its CSS class and its words. */
export function lozenge(state: string): { state: string; stateClass: string; stateLabel: string } {
  return { state, stateClass: state.toLowerCase().replace(/_/g, "-"), stateLabel: state.replace(/_/g, " ").toLowerCase() };
}

/** From start to end, or to now while it runs; null before it starts. */
function elapsed(start: Date | null, end: Date | null, now: number): number | null {
  if (!start) return null;
  return Math.max(0, (end ? end.getTime() : now) - start.getTime());
}

/** A time as the pages show it: relative, with the exact time on hover. */
export interface TimeView {
  iso: string;
  exact: string;
  relative: string;
}

function timeView(d: Date | null, now: number): TimeView | null {
  return d ? { iso: d.toISOString(), exact: formatTime(d), relative: relativeTime(d, now) } : null;
}

/** What the lists know of a build beyond its row: its manual-step waits and the number of the build it re-ran. */
export interface BuildExtras {
  /** Time spent waiting for a person to run a manual step (ms). */
  waitMs: number;
  rerunOfNumber: number | null;
}

export interface BuildView extends ReturnType<typeof lozenge> {
  id: number;
  number: number;
  ref: string;
  refType: string;
  /** The branch, tag or pull request on Bitbucket. */
  refUrl: string | null;
  pullRequest: number | null;
  commit: string;
  commitShort: string;
  commitUrl: string;
  /** First line of the commit message; empty when not known. */
  message: string;
  author: string | null;
  pipeline: string;
  /** A custom pipeline (`custom: nightly`), run by hand or on a schedule, never the branch's own build. */
  custom: string | null;
  trigger: string;
  /** Who or what started it, in words: `push by Jane`, `by hand`, `re-run of #12`, `schedule`. */
  startedBy: string;
  stateReason: string | null;
  created: TimeView;
  /** Running time, without the time spent waiting for a person to run a manual step. */
  durationMs: number | null;
  duration: string;
  waitMs: number;
  wait: string;
  finished: boolean;
  /** The build's page inside Bitbucket. */
  url: string;
}

const FINAL = ["SUCCESSFUL", "FAILED", "STOPPED", "SKIPPED"];

/** `custom: nightly` → `nightly` when the build ran a custom pipeline. */
export function customPipelineOf(build: Build): string | null {
  return build.pipelineKey.startsWith("custom/") ? build.pipelineKey.slice("custom/".length) : null;
}

function startedByText(build: Build, extras: BuildExtras): string {
  const by = build.startedBy ? ` by ${build.startedBy}` : "";
  switch (build.trigger) {
    case "push":
      return `push${by}`;
    case "pull-request":
      return `pull request${by}`;
    case "manual":
      return build.startedBy ? `${build.startedBy}, by hand` : "by hand";
    case "rerun":
      return `re-run of #${extras.rerunOfNumber ?? "?"}${by}`;
    default:
      // A trigger this page does not know yet (a schedule): its own name.
      return `${String(build.trigger)}${by}`;
  }
}

/** Time spent waiting for people to run manual steps, from the steps' times: from the end of the steps before to the start. */
export function manualWaitMs(steps: readonly Pick<Step, "index" | "manual" | "state" | "startedAt" | "finishedAt">[], now = Date.now()): number {
  const ordered = [...steps].sort((a, b) => a.index - b.index);
  let total = 0;
  ordered.forEach((s, i) => {
    if (!s.manual || i === 0) return;
    const before = ordered.slice(0, i).map((p) => p.finishedAt?.getTime() ?? 0);
    const from = Math.max(...before);
    if (from === 0) return;
    const to = s.startedAt ? s.startedAt.getTime() : s.state === "WAITING" ? now : null;
    if (to !== null && to > from) total += to - from;
  });
  return total;
}

/** A build as the lists, the chart and the panel show it. */
export function buildView(build: Build, repository: string, url: string, links: RepositoryWebLinks, extras: BuildExtras = { waitMs: 0, rerunOfNumber: null }, now = Date.now()): BuildView {
  const j = buildSummaryJson(build, repository);
  const total = elapsed(j.startedAt, j.finishedAt, now);
  const durationMs = total === null ? null : Math.max(0, total - extras.waitMs);
  const refUrl = j.pullRequest ? links.pullRequest(j.pullRequest.id) : !j.ref.name ? null : j.ref.type === "tag" ? links.tag(j.ref.name) : links.branch(j.ref.name);
  return {
    id: j.id,
    number: j.number,
    ref: j.ref.name,
    refType: j.ref.type,
    refUrl,
    pullRequest: j.pullRequest?.id ?? null,
    commit: j.commit,
    commitShort: j.commit.slice(0, 12),
    commitUrl: links.commit(j.commit),
    message: (build.commitMessage ?? "").split("\n")[0].trim(),
    author: build.commitAuthor,
    pipeline: j.pipeline,
    custom: customPipelineOf(build),
    trigger: j.trigger,
    startedBy: startedByText(build, extras),
    stateReason: j.stateReason,
    created: timeView(j.createdAt, now) as TimeView,
    durationMs,
    duration: formatDuration(durationMs),
    waitMs: extras.waitMs,
    wait: extras.waitMs > 0 ? formatDuration(extras.waitMs) : "",
    finished: FINAL.includes(j.state),
    url,
    ...lozenge(j.state),
  };
}

export interface StepView extends ReturnType<typeof lozenge> {
  index: number;
  name: string;
  manual: boolean;
  deployment: string | null;
  exitCode: number | null;
  logBytes: number;
  duration: string;
  started: TimeView | null;
  /** A manual step a person may start now. */
  canRun: boolean;
  /** "ran without isolation on runner X" when the runner's executor was `host`; null otherwise. */
  isolationWarning: string | null;
  /** Its log will not grow any more. */
  complete: boolean;
  selected: boolean;
  /** `2 of 10 tests failed`, when its reports say. */
  tests: string | null;
  testsFailed: boolean;
  /** `reused from #12`: "Re-run failed steps" took its result over instead of running it. */
  reused: string | null;
  /** What it uploaded, each downloadable as a tar.gz. */
  artifacts: StepArtifactView[];
}

/** One artifact of a step, on the build page. */
export interface StepArtifactView {
  id: number;
  name: string;
  size: string;
  /** `scoped`: kept with the step only, not passed on. */
  scoped: boolean;
}

/** One item of the steps column: a step, a parallel group, or a stage with its items. */
export interface StepItem {
  step?: StepView;
  parallel?: { label: string; steps: StepView[] };
  stage?: { name: string; items: StepItem[] };
}

export interface StepTests {
  stepIndex: number;
  stepName: string;
  passed: number;
  failed: number;
  skipped: number;
  files: number;
  unreadable: number;
  failures: TestFailure[];
  /** Failures the step had beyond those kept. */
  more: number;
}

export interface TestsView {
  steps: StepTests[];
  passed: number;
  failed: number;
  skipped: number;
  /** `Tests`, `Tests (2 failed)`. */
  label: string;
}

export interface BuildDetailView extends BuildView {
  steps: StepView[];
  items: StepItem[];
  warnings: string[];
  /** What the runner said once for every step (how steps are isolated, with which limits), with the steps it applies to. */
  setup: { text: string; steps: string | null }[];
  tests: TestsView | null;
  canCancel: boolean;
  canRerun: boolean;
  /** A failed or stopped build: "Re-run failed steps" runs from its first failed step on, reusing the rest. */
  canRerunFailed: boolean;
  /** `Steps 1–2 reused from #12` on a build made by "Re-run failed steps"; null otherwise. */
  reusedNote: string | null;
  /** The step whose log the page opens first. */
  selectedStep: number;
}

/** The step worth looking at first: the running one, else the one that failed, else the last that wrote a log. */
function stepToShow(steps: readonly Step[]): number {
  const pick = steps.find((s) => s.state === "RUNNING") ?? steps.find((s) => ["FAILED", "TIMED_OUT", "STOPPED"].includes(s.state)) ?? [...steps].reverse().find((s) => s.logBytes > 0);
  return pick?.index ?? steps[0]?.index ?? 0;
}

/** The steps column: steps in order, parallel groups as groups, stages as stages (from the build's plan). */
function stepItems(plan: Plan | null, views: StepView[]): StepItem[] {
  const byIndex = new Map(views.map((v) => [v.index, v]));
  const planned = plan?.steps ?? [];
  const stageOf = new Map<number, string>();
  for (const stage of plan?.stages ?? []) for (const i of stage.stepIndexes) stageOf.set(i, stage.name);
  const out: StepItem[] = [];
  let stage: { name: string; items: StepItem[] } | null = null;
  let group: { key: number; label: string; steps: StepView[] } | null = null;
  for (const view of views) {
    const p = planned[view.index];
    const stageName = stageOf.get(view.index) ?? p?.stageName;
    if (stageName === undefined) stage = null;
    else if (!stage || stage.name !== stageName) {
      stage = { name: stageName, items: [] };
      out.push({ stage });
      group = null;
    }
    const into = stage ? stage.items : out;
    if (p?.parallelGroup !== undefined) {
      if (!group || group.key !== p.parallelGroup || !into.some((it) => it.parallel === group)) {
        group = { key: p.parallelGroup, label: p.failFast ? "Parallel (fail-fast)" : "Parallel", steps: [] };
        into.push({ parallel: group });
      }
      group.steps.push(view);
    } else {
      group = null;
      into.push({ step: view });
    }
  }
  // Steps the plan does not know (a build made before plans were kept) stay in order.
  return out.length ? out : views.filter((v) => byIndex.has(v.index)).map((step) => ({ step }));
}

function parsePlan(raw: string | null): Plan | null {
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Plan;
  } catch {
    return null;
  }
}

/** The test reports of a build's steps, for its Tests tab; null when no step had any. */
export function testsView(reports: readonly { stepIndex: number; stepName: string; files: number; passed: number; failed: number; skipped: number; unreadable: number; failures: string }[]): TestsView | null {
  if (reports.length === 0) return null;
  const steps = [...reports]
    .sort((a, b) => a.stepIndex - b.stepIndex)
    .map((r) => {
      let failures: TestFailure[];
      try {
        failures = JSON.parse(r.failures) as TestFailure[];
      } catch {
        failures = [];
      }
      return { stepIndex: r.stepIndex, stepName: r.stepName, passed: r.passed, failed: r.failed, skipped: r.skipped, files: r.files, unreadable: r.unreadable, failures, more: Math.max(0, r.failed - failures.length) };
    });
  const sum = (k: "passed" | "failed" | "skipped") => steps.reduce((n, s) => n + s[k], 0);
  const failed = sum("failed");
  return { steps, passed: sum("passed"), failed, skipped: sum("skipped"), label: failed > 0 ? `Tests (${failed} failed)` : "Tests" };
}

export interface DetailInputs {
  steps: readonly Step[];
  links: RepositoryWebLinks;
  extras: BuildExtras;
  /** Per step index: what the runner said at the top of its log. */
  notes: Map<number, RunnerNotes>;
  tests: TestsView | null;
  /** The build's artifacts (absent: none shown). */
  artifacts?: readonly { id: number; stepIndex: number; name: string; size: number; type: string }[];
}

/** `Steps 1–2 reused from #12` (1-based, as the page numbers steps), or null when no step was reused. */
function reusedNote(steps: readonly Step[], from: number | null): string | null {
  const reused = steps.filter((s) => s.reusedFrom !== null && s.reusedFrom !== undefined);
  if (reused.length === 0) return null;
  const names = reused.map((s) => `"${s.name}"`).join(", ");
  return `Re-run of the failed steps of #${from ?? "?"}: ${reused.length === 1 ? "step" : "steps"} ${names} ${reused.length === 1 ? "was" : "were"} reused from #${from ?? "?"} (${reused.length === 1 ? "its" : "their"} result, log and artifacts), not run again.`;
}

/** A build with its steps, warnings, tests and the actions it allows, for its page. */
export function buildDetailView(build: Build, repository: string, url: string, d: DetailInputs, now = Date.now()): BuildDetailView {
  const view = buildView(build, repository, url, d.links, d.extras, now);
  const ordered = [...d.steps].sort((a, b) => a.index - b.index);
  const selectedStep = stepToShow(ordered);
  const testsByStep = new Map((d.tests?.steps ?? []).map((t) => [t.stepIndex, t]));
  const steps: StepView[] = ordered.map((s) => {
    const j = stepJson(s);
    const t = testsByStep.get(j.index);
    return {
      index: j.index,
      name: j.name,
      manual: j.manual,
      deployment: j.deployment,
      exitCode: j.exitCode,
      logBytes: j.logBytes,
      duration: formatDuration(elapsed(j.startedAt, j.finishedAt, now)),
      started: timeView(j.startedAt, now),
      canRun: build.state === "PAUSED" && j.manual && j.state === "WAITING",
      isolationWarning: j.executor === "host" ? `ran without isolation on runner ${j.runner ?? "(unknown)"}` : null,
      complete: LOG_COMPLETE.includes(j.state),
      selected: j.index === selectedStep,
      tests: t ? `${t.failed > 0 ? `${t.failed} of ` : ""}${t.passed + t.failed + t.skipped} tests ${t.failed > 0 ? "failed" : "passed"}` : null,
      testsFailed: !!t && t.failed > 0,
      reused: j.reusedFrom !== null ? `reused from #${d.extras.rerunOfNumber ?? "?"}` : null,
      artifacts: (d.artifacts ?? []).filter((a) => a.stepIndex === j.index).map((a) => ({ id: a.id, name: a.name, size: sizeText(a.size), scoped: a.type === "scoped" })),
      ...lozenge(j.state),
    };
  });
  // What the runner said at the top of every step's log, once: the same line for several steps is shown once.
  const ignored = new Set<string>();
  const setup = new Map<string, string[]>();
  for (const s of ordered) {
    const notes = d.notes.get(s.index);
    if (!notes) continue;
    notes.ignored.forEach((w) => ignored.add(w.replace(/^warning: /, "")));
    for (const line of notes.setup) setup.set(line, [...(setup.get(line) ?? []), s.name]);
  }
  const withNotes = ordered.filter((s) => d.notes.has(s.index)).length;
  return {
    ...view,
    warnings: [...buildSummaryJson(build, repository).warnings, ...ignored],
    setup: [...setup].map(([text, names]) => ({ text, steps: names.length === withNotes ? null : names.join(", ") })),
    tests: d.tests,
    canCancel: ["QUEUED", "RUNNING", "PAUSED"].includes(build.state),
    canRerun: view.finished,
    canRerunFailed: (build.state === "FAILED" || build.state === "STOPPED") && build.trigger !== "redeploy" && build.plan !== null && ordered.some((s) => !["SUCCESSFUL", "SKIPPED", "REFUSED"].includes(s.state)),
    reusedNote: reusedNote(ordered, d.extras.rerunOfNumber),
    selectedStep,
    steps,
    items: stepItems(parsePlan(build.plan), steps),
  };
}
