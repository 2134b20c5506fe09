/**
 * Pipelines: read a bitbucket-pipelines.yml, choose the pipeline for a push, tag, pull request or manual
 * run, and plan its steps for a runner. Pure functions; the only I/O is reading the bundled official
 * schema once. The service runs them off its event loop, with a time budget: see `check-file.ts`.
 *
 * ```ts
 * const parsed = parsePipelineFile(text);
 * if (!parsed.ok) return parsed.errors.map((d) => formatDiagnostic(d));
 * const selected = selectPipeline(parsed.config, { kind: 'branch', branch: 'feature/login' });
 * const plan = selected && planPipeline(parsed.config, selected);
 * const runs = plan?.steps.filter((s) => changesetMatches(s.condition, changedFiles));
 * ```
 */

/** Parse and validate the text of a bitbucket-pipelines.yml (YAML within limits, our rules, the official schema). */
export { parsePipelineFile, type ParseResult } from "./parse";
/** How much of a pipeline file is read: size, depth, nodes with aliases expanded. */
export { DEFAULT_LIMITS, type PipelineFileLimits } from "./limits";
/** Print a diagnostic as `bitbucket-pipelines.yml:12:5: path: message`. */
export { formatDiagnostic, formatConfigPath, DEFAULT_PIPELINE_FILE, type Diagnostic, type ConfigPath } from "./diagnostic";
/** Bitbucket glob matching (`*`, `**`, `?`, `{a,b}`) and the "most specific pattern wins" rule. */
export {
  matchGlob,
  isExactPattern,
  globSpecificity,
  compareSpecificity,
  bestMatchingPattern,
  MAX_GLOB_LENGTH,
  type GlobSpecificity,
} from "./glob";
/** Everything the service asks of a file in one call (parse, validate, select, plan), as plain data. */
export { checkPipelineFile, type FileCheckRequest, type FileCheckResult, type CheckedSelection, type PipelineFileCheck } from "./check-file";
/** Choose the pipeline that runs for a trigger. */
export { selectPipeline } from "./select";
/** Flatten a selected pipeline into the steps a runner executes. */
export { planPipeline, failingLine, containerWarning, DEFAULT_CLONE_DEPTH, DEFAULT_MAX_TIME_MINUTES, PIPE_UNSUPPORTED, NOT_HONOURED } from "./plan";
/** Whether a step with a `condition.changesets` runs for a set of changed files. */
export { changesetMatches } from "./changesets";
export type {
  PipelineConfig,
  Trigger,
  SelectedPipeline,
  CustomVariable,
  Plan,
  PlanOptions,
  PlanStage,
  StepPlan,
  ArtifactUpload,
  StepCondition,
  ImageSpec,
  ServiceSpec,
  PipeItem,
  ScriptItem,
} from "./types";
