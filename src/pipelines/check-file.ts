/**
 * Everything the service asks of a pipeline file, in one call: parse and validate it, then select and plan the
 * pipeline for each trigger given, and list its custom pipelines. The answer is plain data, so it can cross from a
 * worker thread (see `worker/file-checker.ts`, which runs this off the event loop with a time budget).
 */
import type { Diagnostic } from "./diagnostic";
import { DEFAULT_LIMITS, type PipelineFileLimits } from "./limits";
import { parsePipelineFile } from "./parse";
import { planPipeline } from "./plan";
import { selectPipeline } from "./select";
import type { CustomVariable, Plan, PlanOptions, Trigger } from "./types";

export interface FileCheckRequest {
  /** The text of the file. */
  text: string;
  /** Select and plan the pipeline for each of these triggers (answers in the same order). */
  triggers?: Trigger[];
  /** Also list the custom pipelines, in file order, with their variables. */
  listCustom?: boolean;
  planOptions?: PlanOptions;
}

/** The pipeline chosen for one trigger, and its plan. */
export interface CheckedSelection {
  /** `"branches: feature/*"`, `"default"`, … */
  name: string;
  /** `"branches/feature/*"`, `"default"`, … */
  key: string;
  variables?: CustomVariable[];
  plan: Plan;
}

export interface FileCheckResult {
  /** False when the file cannot be run: `errors` says why (never empty then). */
  ok: boolean;
  errors: Diagnostic[];
  warnings: Diagnostic[];
  /** One per trigger of the request, in order: null when no pipeline runs for it. Empty when the file is not ok. */
  selections: (CheckedSelection | null)[];
  /** The custom pipelines, when asked for and the file is ok. */
  custom: { name: string; variables: CustomVariable[] }[];
}

/** Checks a file as `request` asks, within `limits`. Never throws for anything in the file. */
export function checkPipelineFile(request: FileCheckRequest, limits: PipelineFileLimits = DEFAULT_LIMITS): FileCheckResult {
  const parsed = parsePipelineFile(request.text, limits);
  if (!parsed.ok) return { ok: false, errors: parsed.errors, warnings: parsed.warnings, selections: [], custom: [] };
  const { config } = parsed;
  const selections = (request.triggers ?? []).map((trigger): CheckedSelection | null => {
    const selected = selectPipeline(config, trigger);
    if (!selected) return null;
    const checked: CheckedSelection = { name: selected.name, key: selected.key, plan: planPipeline(config, selected, request.planOptions) };
    if (selected.variables) checked.variables = selected.variables;
    return checked;
  });
  const custom: FileCheckResult["custom"] = [];
  if (request.listCustom) {
    const section = config.pipelines.custom;
    const names = section && typeof section === "object" && !Array.isArray(section) ? Object.keys(section) : [];
    for (const name of names) {
      const selected = selectPipeline(config, { kind: "custom", name });
      if (selected) custom.push({ name, variables: selected.variables ?? [] });
    }
  }
  return { ok: true, errors: [], warnings: parsed.warnings, selections, custom };
}

/** Something that checks pipeline files for the service (a `PipelineFileChecker`: worker threads with a time budget). */
export interface PipelineFileCheck {
  /**
   * Resolves with what the file comes to. A file that is too costly is refused like a broken one (a result with
   * `ok: false`). Rejects only when the service itself cannot check files (it is stopping, or its workers cannot
   * start).
   */
  check(request: FileCheckRequest): Promise<FileCheckResult>;
}
