/**
 * Diagnostics: what the parser says about a pipeline file, and how to print it.
 */

/** One problem found in a pipeline file. Lines and columns are 1-based. */
export interface Diagnostic {
  line?: number;
  column?: number;
  /** Where in the configuration, e.g. `pipelines.branches["feature/*"][0].step.script[1]`. */
  path?: string;
  message: string;
}

/** A path into the parsed configuration: map keys and list indexes. */
export type ConfigPath = readonly (string | number)[];

/** The file name used when none is given. */
export const DEFAULT_PIPELINE_FILE = "bitbucket-pipelines.yml";

/**
 * Formats a diagnostic the way compilers do, so editors and terminals can jump to it:
 * `bitbucket-pipelines.yml:12:5: pipelines.default[0].step: message`
 * (or `bitbucket-pipelines.yml:12:5: warning: ...` when a severity is given).
 */
export function formatDiagnostic(d: Diagnostic, file: string = DEFAULT_PIPELINE_FILE, severity?: "error" | "warning"): string {
  let where = file;
  if (d.line !== undefined) {
    where += `:${d.line}`;
    if (d.column !== undefined) where += `:${d.column}`;
  }
  const parts = [where];
  if (severity) parts.push(severity);
  if (d.path) parts.push(d.path);
  parts.push(d.message);
  return parts.join(": ");
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Keys longer than this are cut in a rendered path (a hostile file may have a key of many kilobytes). */
const MAX_KEY_SHOWN = 60;

/** Renders a config path for people: `pipelines.branches["feature/*"][0].step`; a very long key is cut short. */
export function formatConfigPath(path: ConfigPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (segment.length > MAX_KEY_SHOWN) out += `[${JSON.stringify(`${segment.slice(0, MAX_KEY_SHOWN - 20)}…`)} (${segment.length.toLocaleString("en-US")} characters)]`;
    else if (PLAIN_KEY.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Orders diagnostics by position; those without a line go last, in their original order. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return list
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (a.d.line ?? Infinity) - (b.d.line ?? Infinity) || (a.d.column ?? 0) - (b.d.column ?? 0) || a.i - b.i)
    .map(({ d }) => d);
}
