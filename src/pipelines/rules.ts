/**
 * Our own rules for a pipeline file, on top of the official schema (which requires no top-level key at all).
 */
import type { ConfigPath } from "./diagnostic";
import { DEFAULT_PIPELINE_FILE } from "./diagnostic";

export interface RuleFinding {
  severity: "error" | "warning";
  path: ConfigPath;
  message: string;
}

/** The top-level keys Bitbucket knows. */
export const TOP_LEVEL_KEYS = ["clone", "definitions", "export", "image", "labels", "options", "pipelines"] as const;

/** The sections of `pipelines:` that define pipelines we can run. */
export const PIPELINE_SECTIONS = ["default", "branches", "tags", "pull-requests", "custom"] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The error for a file without `pipelines`, with a hint when pipelines seem to sit at the top level. */
function missingPipelinesMessage(topLevelKeys: readonly string[]): string {
  let message =
    `${DEFAULT_PIPELINE_FILE} has no "pipelines" section: add a top-level "pipelines:" key ` +
    `with at least one of ${PIPELINE_SECTIONS.map((s) => `"${s}"`).join(", ")}`;
  const strays = topLevelKeys.filter((k) => !(TOP_LEVEL_KEYS as readonly string[]).includes(k));
  if (strays.length > 0) {
    const listed = strays.slice(0, 5).map((k) => `"${k}"`).join(", ");
    message += ` (the top level has ${listed}${strays.length > 5 ? ", ..." : ""}; a pipeline for a branch goes under "pipelines: branches: <name>:")`;
  }
  return message;
}

/**
 * Checks what the schema cannot: the file is a mapping, it has a `pipelines` section, and that section
 * defines at least one pipeline.
 */
export function checkPipelineRules(value: unknown): RuleFinding[] {
  if (value === null || value === undefined) {
    return [{ severity: "error", path: [], message: `${DEFAULT_PIPELINE_FILE} is empty: it needs a top-level "pipelines:" section` }];
  }
  if (!isRecord(value)) {
    return [{ severity: "error", path: [], message: `${DEFAULT_PIPELINE_FILE} must be a mapping of keys such as "image" and "pipelines", not ${Array.isArray(value) ? "a list" : "a single value"}` }];
  }
  if (!Object.hasOwn(value, "pipelines")) {
    return [{ severity: "error", path: [], message: missingPipelinesMessage(Object.keys(value)) }];
  }

  const findings: RuleFinding[] = [];
  const pipelines = value.pipelines;
  if (isRecord(pipelines)) {
    const defined = PIPELINE_SECTIONS.filter((section) => {
      const entry = pipelines[section];
      return section === "default" ? entry !== undefined && entry !== null : isRecord(entry) && Object.keys(entry).length > 0;
    });
    if (defined.length === 0) {
      findings.push({
        severity: "error",
        path: ["pipelines"],
        message: `the "pipelines" section defines no pipeline: add at least one of ${PIPELINE_SECTIONS.map((s) => `"${s}"`).join(", ")}`,
      });
    }
    const pullRequests = pipelines["pull-requests"];
    if (isRecord(pullRequests)) {
      for (const [pattern, entry] of Object.entries(pullRequests)) {
        // The schema accepts any mapping here; only a `destinations` mapping makes it run.
        if (isRecord(entry) && !isRecord(entry.destinations)) {
          findings.push({
            severity: "warning",
            path: ["pipelines", "pull-requests", pattern],
            message: 'is a mapping without "destinations", so it never runs: give a list of steps, or "destinations:" keyed by destination branch',
          });
        }
      }
    }
    if (Object.hasOwn(pipelines, "bookmarks")) {
      findings.push({
        severity: "warning",
        path: ["pipelines", "bookmarks"],
        message: '"bookmarks" pipelines are for Mercurial repositories, which Bitbucket no longer hosts; they are ignored',
      });
    }
  }
  // A `pipelines` value that is not a mapping is reported by the schema check ("must be a mapping").
  return findings;
}
