/**
 * Chooses which pipeline of a file runs for a trigger, the way Bitbucket does:
 *
 * - a branch push: the `branches` entry whose pattern applies (an exact name beats any glob; otherwise the
 *   most specific glob, then the first declared — see `bestMatchingPattern`), else `default`;
 * - a tag push: the `tags` entry chosen the same way. Never `default`: Bitbucket runs nothing for a tag
 *   that no `tags` pattern matches;
 * - a pull request: the `pull-requests` entry for the source branch, chosen the same way. An entry may be
 *   a `destinations` mapping keyed by destination-branch patterns; then it applies only when one of them
 *   matches the destination, and that one is chosen likewise. If the best source pattern has no matching
 *   destination, the next best source pattern is tried. Never `default`;
 * - a custom pipeline: only when started by name (by hand, or on a schedule). Custom names are not globs.
 */
import { bestMatchingPattern } from "./glob";
import type { CustomVariable, PipelineConfig, SelectedPipeline, Trigger } from "./types";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** A pipeline value is runnable when it is a list of items, or an `import:` of a shared pipeline. */
function isPipelineValue(value: unknown): boolean {
  return Array.isArray(value) || (isRecord(value) && typeof value.import === "string");
}

function selection(name: string, key: string, value: unknown): SelectedPipeline {
  if (isRecord(value) && typeof value.import === "string") return { name, key, definition: [], importRef: value.import };
  return { name, key, definition: Array.isArray(value) ? [...value] : [] };
}

/** Chooses among a section's entries (`branches`, `tags`) by name. */
function selectFromSection(section: unknown, sectionName: string, name: string): SelectedPipeline | null {
  if (!isRecord(section)) return null;
  const patterns = Object.keys(section).filter((pattern) => isPipelineValue(section[pattern]));
  const pattern = bestMatchingPattern(patterns, name);
  if (pattern === undefined) return null;
  return selection(`${sectionName}: ${pattern}`, `${sectionName}/${pattern}`, section[pattern]);
}

function selectPullRequest(section: unknown, source: string, destination: string): SelectedPipeline | null {
  if (!isRecord(section)) return null;
  let candidates = Object.keys(section);
  for (;;) {
    const pattern = bestMatchingPattern(candidates, source);
    if (pattern === undefined) return null;
    const value = section[pattern];
    if (isPipelineValue(value)) {
      return selection(`pull-requests: ${pattern}`, `pull-requests/${pattern}`, value);
    }
    const destinations = isRecord(value) ? value.destinations : undefined;
    if (isRecord(destinations)) {
      const runnable = Object.keys(destinations).filter((d) => isPipelineValue(destinations[d]));
      const target = bestMatchingPattern(runnable, destination);
      if (target !== undefined) {
        return selection(
          `pull-requests: ${pattern} (into ${target})`,
          `pull-requests/${pattern}/destinations/${target}`,
          destinations[target],
        );
      }
    }
    candidates = candidates.filter((c) => c !== pattern);
  }
}

/** Reads the `- variables:` items of a custom pipeline. */
function customVariables(items: readonly unknown[]): CustomVariable[] {
  const variables: CustomVariable[] = [];
  for (const item of items) {
    if (!isRecord(item) || !Array.isArray(item.variables)) continue;
    for (const entry of item.variables) {
      if (!isRecord(entry)) continue;
      const name = asText(entry.name);
      if (name === undefined) continue;
      const variable: CustomVariable = { name };
      const fallback = asText(entry.default);
      if (fallback !== undefined) variable.default = fallback;
      if (Array.isArray(entry["allowed-values"])) {
        variable.allowedValues = entry["allowed-values"].map(asText).filter((v): v is string => v !== undefined);
      }
      const description = asText(entry.description);
      if (description !== undefined) variable.description = description;
      variables.push(variable);
    }
  }
  return variables;
}

function selectCustom(section: unknown, name: string): SelectedPipeline | null {
  if (!isRecord(section) || !Object.hasOwn(section, name) || !isPipelineValue(section[name])) return null;
  const value = section[name];
  const selected = selection(`custom: ${name}`, `custom/${name}`, value);
  if (Array.isArray(value)) {
    selected.definition = value.filter((item) => !(isRecord(item) && Object.hasOwn(item, "variables")));
    const variables = customVariables(value);
    if (variables.length > 0) selected.variables = variables;
  }
  return selected;
}

/** The pipeline that runs for `trigger`, or null when the file has none for it. */
export function selectPipeline(config: PipelineConfig, trigger: Trigger): SelectedPipeline | null {
  const pipelines = isRecord(config.pipelines) ? config.pipelines : {};
  switch (trigger.kind) {
    case "branch": {
      const branch = selectFromSection(pipelines.branches, "branches", trigger.branch);
      if (branch) return branch;
      return isPipelineValue(pipelines.default) ? selection("default", "default", pipelines.default) : null;
    }
    case "tag":
      return selectFromSection(pipelines.tags, "tags", trigger.tag);
    case "pull-request":
      return selectPullRequest(pipelines["pull-requests"], trigger.sourceBranch, trigger.destinationBranch);
    case "custom":
      return selectCustom(pipelines.custom, trigger.name);
  }
}
