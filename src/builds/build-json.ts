import type { Build, Step } from "../db/models";
import type { BuildRefType, BuildState, BuildTrigger } from "../db/models/build";
import type { StepState } from "../db/models/step";

/** One step of a build, as the JSON API shows it. `index` is the `:n` of `/api/builds/:id/steps/:n/…`. */
export interface StepJson {
  index: number;
  name: string;
  state: StepState;
  manual: boolean;
  deployment: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  exitCode: number | null;
  /** Bytes of log stored so far: what `GET …/log` would send without a Range. */
  logBytes: number;
  /** How the runner isolated it (`sandbox`, `container`, `host` = none) and which runner; null before it started. */
  executor: string | null;
  runner: string | null;
  /** "Re-run failed steps": the build (id) whose result this step took over instead of running; null when it ran. */
  reusedFrom: number | null;
}

/** A build as a list shows it: everything but its steps. */
export interface BuildSummaryJson {
  id: number;
  number: number;
  applicationId: number;
  repository: string;
  state: BuildState;
  stateReason: string | null;
  commit: string;
  /** For a pull request: `type` "pull-request" and `name` its source branch. */
  ref: { type: BuildRefType; name: string };
  pullRequest: { id: number; destinationBranch: string | null } | null;
  /** For people: `default`, `branches: main`, `custom: deploy`, or `bitbucket-pipelines.yml` when the file is broken. */
  pipeline: string;
  trigger: BuildTrigger;
  /** The build this one ran again (trigger "rerun"), or null. */
  rerunOf: number | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** From the first claim by a runner to the end; null until it has both. */
  durationMs: number | null;
  /** What the pipeline file or the runner cannot honour. */
  warnings: string[];
}

export interface BuildJson extends BuildSummaryJson {
  steps: StepJson[];
}

function parseWarnings(raw: string | null): string[] {
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? parsed.filter((w): w is string => typeof w === "string") : [];
  } catch {
    return [];
  }
}

export function stepJson(step: Step): StepJson {
  return {
    index: step.index,
    name: step.name,
    state: step.state,
    manual: step.manual,
    deployment: step.deployment,
    startedAt: step.startedAt,
    finishedAt: step.finishedAt,
    exitCode: step.exitCode,
    logBytes: step.logBytes,
    executor: step.executor ?? null,
    runner: step.runnerName ?? null,
    reusedFrom: step.reusedFrom ?? null,
  };
}

/** `repository` is the application's (`workspace/slug`): a build row does not carry it. */
export function buildSummaryJson(build: Build, repository: string): BuildSummaryJson {
  return {
    id: build.id,
    number: build.number,
    applicationId: build.applicationId,
    repository,
    state: build.state,
    stateReason: build.stateReason,
    commit: build.commit,
    ref: { type: build.refType, name: build.refName },
    pullRequest: build.pullRequestId === null ? null : { id: build.pullRequestId, destinationBranch: build.destinationBranch },
    pipeline: build.pipelineName,
    trigger: build.trigger,
    rerunOf: build.rerunOf,
    createdAt: build.createdAt,
    startedAt: build.startedAt,
    finishedAt: build.finishedAt,
    durationMs: build.startedAt && build.finishedAt ? Math.max(0, build.finishedAt.getTime() - build.startedAt.getTime()) : null,
    warnings: parseWarnings(build.warnings),
  };
}

/** A build with its steps (in index order, whatever order they are given in). */
export function buildJson(build: Build, repository: string, steps: readonly Step[]): BuildJson {
  return { ...buildSummaryJson(build, repository), steps: [...steps].sort((a, b) => a.index - b.index).map(stepJson) };
}
