/**
 * Checks a parsed configuration against the (relaxed) official schema and explains each problem at the node
 * that causes it.
 *
 * ajv alone, with `allErrors`, reports every failed branch of every `oneOf`: one misspelt key inside a step
 * yields a dozen errors about parallel groups and stages. So we walk the schema and the value together, and
 * at each `oneOf`/`anyOf` we step into the one branch the value was meant for (the first one it satisfies,
 * else the first one whose shape it has: right type, discriminating keys present), and report only what is
 * wrong inside it. ajv still does every keyword check.
 *
 * Two kinds of mismatch are warnings, not errors, because the schema is stricter than Bitbucket:
 * - a key the schema does not list (see `KNOWN_KEYS` in schema.ts);
 * - a number, boolean or empty value where the schema wants a string. YAML reads `MYSQL_RANDOM_ROOT_PASSWORD: 1`
 *   as a number, and `- #- ./script.sh` (a commented-out script line) as an empty item; Bitbucket takes the
 *   first as the text "1" and skips the second (fixtures 01 and 04 are real, working configurations with these).
 */
import type { ErrorObject } from "ajv";
import type { ConfigPath } from "./diagnostic";
import { KNOWN_KEYS, pipelineSchema, TYPOS_WARN, type CompiledSchema, type SchemaNode } from "./schema";
import { likelyMeant } from "./typos";

export interface SchemaFinding {
  severity: "error" | "warning";
  path: ConfigPath;
  message: string;
}

type Segment = string | number;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}

function pointerSegments(instancePath: string): string[] {
  return instancePath === "" ? [] : instancePath.slice(1).split("/").map(unescapePointer);
}

function valueAt(data: unknown, instancePath: string): unknown {
  let current = data;
  for (const segment of pointerSegments(instancePath)) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isRecord(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

function nodeAt(root: SchemaNode, pointer: string): unknown {
  let current: unknown = root;
  for (const segment of pointerSegments(pointer)) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isRecord(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

const TYPE_NAMES: Record<string, string> = {
  object: "a mapping",
  array: "a list",
  string: "a string",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
  null: "an empty value",
};

function typeName(type: unknown): string {
  const names = String(type).split(",").map((t) => TYPE_NAMES[t] ?? t);
  return names.join(" or ");
}

function quoteList(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(", ");
}

/** A short description of a value for messages: `"text"`, `5`, `a list`, `a mapping with keys "a", "b"`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : "a list";
  if (isRecord(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return "an empty mapping";
    return `a mapping with key${keys.length > 1 ? "s" : ""} ${quoteList(keys.slice(0, 5))}${keys.length > 5 ? ", ..." : ""}`;
  }
  return String(value);
}

/** A number, boolean or empty value where a string is wanted: Bitbucket reads it as text or skips it. */
function isSoftTypeError(error: ErrorObject, data: unknown): boolean {
  if (error.keyword !== "type" || error.params.type !== "string") return false;
  const value = valueAt(data, error.instancePath);
  return value === null || typeof value === "number" || typeof value === "boolean";
}

/**
 * The errors that count against a branch. Once a soft type error is forgiven, the other type errors at the
 * same place (from the other branches of the `oneOf` it sits in) and that `oneOf`'s own error are noise;
 * anything else there (an enum, a minimum) still counts.
 */
function hardErrors(errors: readonly ErrorObject[], data: unknown): ErrorObject[] {
  const softPlaces = new Set(errors.filter((e) => isSoftTypeError(e, data)).map((e) => e.instancePath));
  const noise = new Set(["type", "oneOf", "anyOf"]);
  return errors.filter((e) => !(softPlaces.has(e.instancePath) && noise.has(e.keyword)));
}

function depthOf(error: ErrorObject): number {
  return pointerSegments(error.instancePath).length;
}

/**
 * An error that shows the value has a different shape from the branch: wrong type, a discriminating key
 * missing (`required`) or forbidden (`not` on a direct child), or a value outside an enum.
 */
function isShapeMismatch(error: ErrorObject): boolean {
  const depth = depthOf(error);
  if (depth === 0) return ["type", "required", "enum", "const"].includes(error.keyword);
  return depth === 1 && error.keyword === "not";
}

/** What a branch expected, in words, from the errors that show the value is not of its shape. */
function expectation(mismatches: readonly ErrorObject[]): string {
  const type = mismatches.find((e) => e.keyword === "type");
  if (type) return typeName(type.params.type);
  const required = mismatches.filter((e) => e.keyword === "required").map((e) => String(e.params.missingProperty));
  const forbidden = mismatches
    .filter((e) => e.keyword === "not")
    .map((e) => pointerSegments(e.instancePath)[0]);
  const parts: string[] = [];
  if (required.length > 0) parts.push(`with ${quoteList(required)}`);
  if (forbidden.length > 0) parts.push(`without ${quoteList(forbidden)}`);
  if (parts.length > 0) return `a mapping ${parts.join(" and ")}`;
  const enumError = mismatches.find((e) => e.keyword === "enum");
  if (enumError) return `one of ${quoteList(enumError.params.allowedValues as unknown[])}`;
  const constError = mismatches.find((e) => e.keyword === "const");
  if (constError) return JSON.stringify(constError.params.allowedValue);
  return "another form";
}

function joinAlternatives(items: readonly string[]): string {
  const unique = [...new Set(items)];
  if (unique.length <= 1) return unique[0] ?? "";
  return `${unique.slice(0, -1).join(", ")} or ${unique[unique.length - 1]}`;
}

/** Turns an ajv error on a node's own keywords into a message for people. */
function localMessage(error: ErrorObject, data: unknown): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "type":
      return `must be ${typeName(p.type)}, found ${describeValue(data)}`;
    case "enum":
      return `must be one of ${quoteList(p.allowedValues as unknown[])}, found ${describeValue(data)}`;
    case "const":
      return `must be ${JSON.stringify(p.allowedValue)}, found ${describeValue(data)}`;
    case "required":
      return `missing required key "${String(p.missingProperty)}"`;
    case "minItems":
      return p.limit === 1 ? "must not be an empty list" : `must have at least ${String(p.limit)} items`;
    case "maxItems":
      return `must have at most ${String(p.limit)} items`;
    case "minProperties":
      return p.limit === 1 ? "must not be an empty mapping" : `must have at least ${String(p.limit)} keys`;
    case "maxProperties":
      return `must have at most ${String(p.limit)} key${p.limit === 1 ? "" : "s"}, found ${describeValue(data)}`;
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return `must be ${String(p.comparison)} ${String(p.limit)}, found ${describeValue(data)}`;
    case "minLength":
      return `must be at least ${String(p.limit)} characters long`;
    case "maxLength":
      return `must be at most ${String(p.limit)} characters long`;
    case "pattern":
      return `must match the pattern ${String(p.pattern)}, found ${describeValue(data)}`;
    case "not":
      return "is not allowed here";
    default:
      return error.message ?? `fails the "${error.keyword}" rule of the schema`;
  }
}

function softMessage(data: unknown, path: readonly Segment[]): string {
  if (data === null) {
    const parent = path[path.length - 2];
    if (parent === "script" || parent === "after-script") return "empty script line; it is skipped";
    return "empty value where a string is expected; it is ignored";
  }
  return `expected a string, found ${String(data)}; it is read as the text "${String(data)}"`;
}

class SchemaWalker {
  readonly findings: SchemaFinding[] = [];

  constructor(private readonly schema: CompiledSchema) {}

  private report(severity: SchemaFinding["severity"], path: readonly Segment[], message: string): void {
    this.findings.push({ severity, path: [...path], message });
  }

  walk(pointer: string, data: unknown, path: readonly Segment[], depth = 0): void {
    let node = nodeAt(this.schema.root, pointer);
    // Follow $ref chains (draft-07 ignores keywords beside $ref).
    for (let hops = 0; isRecord(node) && typeof node.$ref === "string" && hops < 32; hops++) {
      pointer = node.$ref.replace(/^#/, "");
      node = nodeAt(this.schema.root, pointer);
    }
    if (!isRecord(node) || depth > 200) return;

    if (!this.checkLocal(pointer, node, data, path)) return;

    if (Array.isArray(node.allOf)) {
      node.allOf.forEach((_, i) => this.walk(`${pointer}/allOf/${i}`, data, path, depth + 1));
    }
    for (const kind of ["oneOf", "anyOf"] as const) {
      const branches = node[kind];
      if (Array.isArray(branches)) this.walkAlternatives(`${pointer}/${kind}`, kind, branches.length, data, path, depth);
    }

    if (isRecord(data)) {
      const properties = isRecord(node.properties) ? node.properties : {};
      const known = Array.isArray(node[KNOWN_KEYS]) ? (node[KNOWN_KEYS] as string[]) : undefined;
      for (const [key, value] of Object.entries(data)) {
        if (Object.hasOwn(properties, key)) {
          this.walk(`${pointer}/properties/${escapePointer(key)}`, value, [...path, key], depth + 1);
        } else if (isRecord(node.additionalProperties)) {
          this.walk(`${pointer}/additionalProperties`, value, [...path, key], depth + 1);
        } else if (known && !known.includes(key)) {
          this.unknownKey(key, known, node[TYPOS_WARN] === true, [...path, key]);
        }
      }
    }
    if (Array.isArray(data) && isRecord(node.items)) {
      data.forEach((item, i) => this.walk(`${pointer}/items`, item, [...path, i], depth + 1));
    }
  }

  /**
   * A key the schema does not list: a warning, unless it is a likely misspelling of a known key where a misspelt
   * key would change what runs (see `relaxSchema`): then an error naming the key it probably meant.
   */
  private unknownKey(key: string, known: readonly string[], typosWarn: boolean, path: readonly Segment[]): void {
    const meant = likelyMeant(key, known);
    if (meant !== undefined && !typosWarn) {
      this.report("error", path, `unknown key "${key}": did you mean "${meant}"? A misspelt key is ignored, so this would not do what it says`);
    } else if (meant !== undefined) {
      this.report("warning", path, `unknown key "${key}" is ignored; did you mean "${meant}"?`);
    } else {
      const expected = known.length <= 12 ? ` (expected ${joinAlternatives(known.map((k) => `"${k}"`))})` : "";
      this.report("warning", path, `unknown key "${key}" is ignored${expected}`);
    }
  }

  /** Checks the node's own keywords. Returns false when the value has the wrong type, so its children are not checked. */
  private checkLocal(pointer: string, node: SchemaNode, data: unknown, path: readonly Segment[]): boolean {
    const validate = this.schema.localAt(pointer, node);
    if (!validate || validate(data)) return true;
    const errors = validate.errors ?? [];
    const typeError = errors.find((e) => e.keyword === "type");
    if (typeError && isSoftTypeError(typeError, data)) {
      this.report("warning", path, softMessage(data, path));
      if (data === null) return false; // skipped, as if absent: nothing else to say about it
    } else if (typeError) {
      this.report("error", path, localMessage(typeError, data));
      return false;
    }
    // Local keywords have no children, so every error is about this node itself.
    for (const error of errors) {
      if (error.keyword !== "type") this.report("error", path, localMessage(error, data));
    }
    return true;
  }

  private walkAlternatives(
    pointer: string,
    kind: "oneOf" | "anyOf",
    count: number,
    data: unknown,
    path: readonly Segment[],
    depth: number,
  ): void {
    const results = Array.from({ length: count }, (_, index) => {
      const validate = this.schema.at(`${pointer}/${index}`);
      const valid = validate(data) === true;
      const errors = valid ? [] : [...(validate.errors ?? [])];
      const hard = hardErrors(errors, data);
      return { index, valid, hard, mismatches: hard.filter(isShapeMismatch) };
    });

    const valid = results.filter((r) => r.valid);
    if (kind === "oneOf" && valid.length > 1) {
      this.report("error", path, `matches more than one of the allowed forms (${valid.length} of ${count}); it is ambiguous`);
      return;
    }
    const chosen = valid[0] ?? results.find((r) => r.hard.length === 0) ?? results.find((r) => r.mismatches.length === 0);
    if (chosen) {
      this.walk(`${pointer}/${chosen.index}`, data, path, depth + 1);
      return;
    }
    const expected = joinAlternatives(results.map((r) => expectation(r.mismatches)));
    this.report("error", path, `expected ${expected}, found ${describeValue(data)}`);
  }
}

/** Checks a parsed configuration against the relaxed official schema. Findings are in document order of the walk. */
export function checkAgainstSchema(value: unknown): SchemaFinding[] {
  const walker = new SchemaWalker(pipelineSchema());
  walker.walk("", value, []);
  return walker.findings;
}
