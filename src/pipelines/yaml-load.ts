/**
 * Turns the text of a pipeline file into a YAML document and a plain value, reporting YAML problems with
 * their line and column. Knows nothing about pipelines.
 */
import { LineCounter, isMap, isScalar, parseDocument, visit, type Document, type YAMLError } from "yaml";
import type { Diagnostic } from "./diagnostic";
import { isMergeKey, keyText } from "./locate";

export interface LoadedYaml {
  doc: Document;
  lineCounter: LineCounter;
  /** The document as plain data; undefined when there were errors. */
  value?: unknown;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/**
 * Aliases may be expanded at most this many times. A pipeline file reuses anchored steps a few dozen times;
 * the limit only stops "billion laughs" documents from exhausting memory.
 */
const MAX_ALIAS_EXPANSIONS = 10_000;

/** The yaml library appends " at line L, column C:" and a code excerpt; we report the position separately. */
function cleanYamlMessage(message: string): string {
  const firstLine = message.split("\n")[0] ?? message;
  return firstLine.replace(/ at line \d+, column \d+:?$/, "");
}

function toDiagnostic(error: YAMLError): Diagnostic {
  const start = error.linePos?.[0];
  return { line: start?.line, column: start?.col, message: cleanYamlMessage(error.message) };
}

/**
 * Bitbucket reads map keys as text, so `1.0:` under `tags` means the tag "1.0", not the number 1.
 * The YAML core schema would make it the number 1 (and the object key "1"); use the key's source text instead.
 */
function keepKeysAsWritten(doc: Document): void {
  visit(doc, {
    Pair(_, pair) {
      const key = pair.key;
      if (isScalar(key) && !isMergeKey(key) && typeof key.value !== "string" && typeof key.source === "string") {
        key.value = key.source;
      }
    },
  });
}

/**
 * YAML forbids duplicate keys, but Bitbucket's parser (like PyYAML and SnakeYAML) accepts them and keeps the
 * last one. We do the same and warn, because the earlier entry is silently dead.
 */
function duplicateKeyWarnings(doc: Document, lineCounter: LineCounter): Diagnostic[] {
  const warnings: Diagnostic[] = [];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const firstLine = new Map<string, number>();
      for (const pair of map.items) {
        if (isMergeKey(pair.key)) continue;
        const text = keyText(pair.key);
        const offset = (pair.key as { range?: [number, number, number] } | null)?.range?.[0];
        if (text === undefined || offset === undefined) continue;
        const { line, col } = lineCounter.linePos(offset);
        const seen = firstLine.get(text);
        if (seen === undefined) {
          firstLine.set(text, line);
        } else {
          warnings.push({
            line,
            column: col,
            message: `duplicate key "${text}" (also on line ${seen}); the last one is used and the earlier one is ignored`,
          });
        }
      }
    },
  });
  return warnings;
}

/** Parses YAML 1.2 (core schema) with YAML 1.1 merge keys (`<<: *anchor`) enabled, as Bitbucket files use them. */
export function loadYaml(text: string): LoadedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, uniqueKeys: false, prettyErrors: true });
  const errors = doc.errors.map(toDiagnostic);
  const warnings = doc.warnings.map(toDiagnostic);
  if (errors.length > 0) return { doc, lineCounter, errors, warnings };

  keepKeysAsWritten(doc);
  warnings.push(...duplicateKeyWarnings(doc, lineCounter));
  try {
    const value: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
    return { doc, lineCounter, value, errors, warnings };
  } catch (err) {
    // toJS throws for an alias to an unknown anchor, or for too many alias expansions.
    const message = err instanceof Error ? err.message : String(err);
    const offset = findUnresolvedAlias(doc);
    const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
    errors.push({ line: pos?.line, column: pos?.col, message: cleanYamlMessage(message) });
    return { doc, lineCounter, errors, warnings };
  }
}

function findUnresolvedAlias(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, alias) {
      if (offset === undefined && alias.resolve(doc) === undefined) offset = alias.range?.[0];
    },
  });
  return offset;
}
