import type { Build, Step } from "../../db/models";
import { buildSummaryJson, stepJson, type BuildSummaryJson } from "../../builds/build-json";
import { LOG_COMPLETE } from "../api/build-step-log-get";

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

/** `2024-05-01 14:03 UTC`: the same for everyone on the page (the script may show local time instead). */
export function formatTime(d: Date | null): string {
  return d ? `${d.toISOString().slice(0, 16).replace("T", " ")} UTC` : "";
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

export interface BuildView extends ReturnType<typeof lozenge> {
  id: number;
  number: number;
  ref: string;
  refType: string;
  pullRequest: number | null;
  commit: string;
  commitShort: string;
  pipeline: string;
  trigger: string;
  stateReason: string | null;
  createdAt: string;
  createdText: string;
  durationMs: number | null;
  duration: string;
  finished: boolean;
  /** The build's page inside Bitbucket. */
  url: string;
}

const FINAL = ["SUCCESSFUL", "FAILED", "STOPPED", "SKIPPED"];

/** A build as the lists, the chart and the panel show it. */
export function buildView(build: Build, repository: string, url: string, now = Date.now()): BuildView {
  const j: BuildSummaryJson = buildSummaryJson(build, repository);
  const durationMs = j.durationMs ?? elapsed(j.startedAt, j.finishedAt, now);
  return {
    id: j.id,
    number: j.number,
    ref: j.ref.name,
    refType: j.ref.type,
    pullRequest: j.pullRequest?.id ?? null,
    commit: j.commit,
    commitShort: j.commit.slice(0, 12),
    pipeline: j.pipeline,
    trigger: j.trigger,
    stateReason: j.stateReason,
    createdAt: j.createdAt.toISOString(),
    createdText: formatTime(j.createdAt),
    durationMs,
    duration: formatDuration(durationMs),
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
  /** A manual step a person may start now. */
  canRun: boolean;
  /** "ran without isolation on runner X" when the runner's executor was `host`; null otherwise. */
  isolationWarning: string | null;
  /** Its log will not grow any more. */
  complete: boolean;
  selected: boolean;
}

export interface BuildDetailView extends BuildView {
  steps: StepView[];
  warnings: string[];
  canCancel: boolean;
  canRerun: boolean;
  /** The step whose log the page opens first. */
  selectedStep: number;
}

/** The step worth looking at first: the running one, else the one that failed, else the last that wrote a log. */
function stepToShow(steps: readonly Step[]): number {
  const pick = steps.find((s) => s.state === "RUNNING") ?? steps.find((s) => ["FAILED", "TIMED_OUT", "STOPPED"].includes(s.state)) ?? [...steps].reverse().find((s) => s.logBytes > 0);
  return pick?.index ?? steps[0]?.index ?? 0;
}

/** A build with its steps, warnings and the actions it allows, for its page. */
export function buildDetailView(build: Build, repository: string, url: string, steps: readonly Step[], now = Date.now()): BuildDetailView {
  const view = buildView(build, repository, url, now);
  const ordered = [...steps].sort((a, b) => a.index - b.index);
  const selectedStep = stepToShow(ordered);
  return {
    ...view,
    warnings: buildSummaryJson(build, repository).warnings,
    canCancel: ["QUEUED", "RUNNING", "PAUSED"].includes(build.state),
    canRerun: view.finished,
    selectedStep,
    steps: ordered.map((s) => {
      const j = stepJson(s);
      return {
        index: j.index,
        name: j.name,
        manual: j.manual,
        deployment: j.deployment,
        exitCode: j.exitCode,
        logBytes: j.logBytes,
        duration: formatDuration(elapsed(j.startedAt, j.finishedAt, now)),
        canRun: build.state === "PAUSED" && j.manual && j.state === "WAITING",
        isolationWarning: j.executor === "host" ? `ran without isolation on runner ${j.runner ?? "(unknown)"}` : null,
        complete: LOG_COMPLETE.includes(j.state),
        selected: j.index === selectedStep,
        ...lozenge(j.state),
      };
    }),
  };
}
