/**
 * Parses and validates the text of a bitbucket-pipelines.yml.
 *
 * Steps: YAML within the file limits (size, depth, nodes with aliases expanded; syntax errors and refusals stop
 * here) → our own rules (a `pipelines` section is required) → the official schema, relaxed where it lags the
 * product, with misspelt keys refused → what this service cannot run as written → every finding placed on the
 * line of the YAML node it is about.
 */
import type { Document, LineCounter } from "yaml";
import { formatConfigPath, sortDiagnostics, type ConfigPath, type Diagnostic } from "./diagnostic";
import { DEFAULT_LIMITS, type PipelineFileLimits } from "./limits";
import { positionOfPath, type AliasResolver } from "./locate";
import { checkPipelineRules } from "./rules";
import { checkAgainstSchema } from "./schema-check";
import { checkSupport } from "./support-rules";
import type { PipelineConfig } from "./types";
import { loadYaml } from "./yaml-load";

export type ParseResult =
  | { ok: true; config: PipelineConfig; warnings: Diagnostic[] }
  | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[] };

interface Finding {
  severity: "error" | "warning";
  path: ConfigPath;
  message: string;
}

function place(doc: Document, lineCounter: LineCounter, resolve: AliasResolver, finding: Finding): Diagnostic {
  const position = positionOfPath(doc, lineCounter, finding.path, resolve) ?? { line: 1, column: 1 };
  const diagnostic: Diagnostic = { line: position.line, column: position.column, message: finding.message };
  if (finding.path.length > 0) diagnostic.path = formatConfigPath(finding.path);
  return diagnostic;
}

/**
 * Parses the text of a bitbucket-pipelines.yml. Never throws. The file is usable (`ok: true`) when it is within
 * `limits`, is valid YAML, has a `pipelines` section, breaks no rule of the schema other than the ones we
 * downgrade to warnings (unknown keys that are not misspellings; numbers or empty values where text is
 * expected), and asks for nothing this service cannot run.
 */
export function parsePipelineFile(text: string, limits: PipelineFileLimits = DEFAULT_LIMITS): ParseResult {
  const loaded = loadYaml(text, limits);
  if (!loaded.ok) {
    return { ok: false, errors: sortDiagnostics(loaded.errors), warnings: sortDiagnostics(loaded.warnings) };
  }

  const findings: Finding[] = [...checkPipelineRules(loaded.value)];
  const value = loaded.value;
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    findings.push(...checkAgainstSchema(value));
    findings.push(...checkSupport(value as Record<string, unknown>));
  }

  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [...loaded.warnings];
  // A node behind an anchor is checked once per alias that uses it; say it once, at the node.
  const said = new Set<string>();
  for (const finding of findings) {
    const diagnostic = place(loaded.doc, loaded.lineCounter, loaded.resolveAlias, finding);
    const key = `${finding.severity}:${diagnostic.line}:${diagnostic.column}:${diagnostic.message}`;
    if (said.has(key)) continue;
    said.add(key);
    (finding.severity === "error" ? errors : warnings).push(diagnostic);
  }
  if (errors.length > 0) return { ok: false, errors: sortDiagnostics(errors), warnings: sortDiagnostics(warnings) };
  return { ok: true, config: value as PipelineConfig, warnings: sortDiagnostics(warnings) };
}
