/**
 * Atlassian's JSON schema for bitbucket-pipelines.yml, loaded once, relaxed where it lags the product,
 * and compiled with ajv on first use.
 *
 * The schema file beside this module is a verbatim copy of Atlassian's official schema (draft-07,
 * `$id` https://bitbucket.org/product/features/pipelines) from atlassian/atlascode
 * `src/pipelines/yaml/pipelines-schema.json` at commit e4f733a17fb8166bfb72b6b7a7a3ed0d7394c670; a test
 * checks it stays identical to the copy in the shared fixtures. Do not edit it: every local decision lives
 * in `relaxSchema` below, where it can be read and tested.
 */
import Ajv, { type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import officialSchemaJson from "./bitbucket-pipelines.schema.json";

export type SchemaNode = Record<string, unknown>;

/**
 * Annotation added by `relaxSchema`: the keys a mapping is expected to have. Any other key there is reported
 * as a warning ("unknown key"), never as an error.
 */
export const KNOWN_KEYS = "x-known-keys";

/** Annotation added by `relaxSchema`: a misspelt key in this mapping is only a warning (see `relaxSchema`, 2.). */
export const TYPOS_WARN = "x-typos-warn";

/** A variable name as a shell (and Bitbucket) accepts it. */
export const VARIABLE_NAME = "^[A-Za-z_][A-Za-z0-9_]*$";

/** The official schema, as published. */
export const officialSchema: SchemaNode = officialSchemaJson as unknown as SchemaNode;

export const SCHEMA_ID = String(officialSchema.$id);

function isNode(value: unknown): value is SchemaNode {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Returns a copy of the official schema with our local decisions applied:
 *
 * 1. `additionalProperties: false` is removed everywhere and replaced by the `x-known-keys` annotation.
 *    The schema lags the product (new keys ship before the schema learns them), so an unknown key is a
 *    warning, not an error. Where such a mapping has exactly one allowed key (the `- step:`, `- parallel:`,
 *    `- stage:`, `- variables:` wrappers), `additionalProperties: false` was also what told the item kinds
 *    apart inside a `oneOf`; we keep that by making the one key required.
 * 2. The top level and the `pipelines` section are open in the official schema; we annotate their known
 *    keys too, so a typo such as `pipeline:` or `branch:` gets a warning instead of being silently ignored.
 *    `bookmarks` (Mercurial, retired) is known there; a rule reports that it is ignored. A misspelling there
 *    stays a warning (`TYPOS_WARN`): the rules already refuse a file whose pipelines cannot be found.
 * 3. The mappings that say what a step does (a step, a stage, a parallel group, `clone`, `options`, artifacts,
 *    conditions, services, caches, pipes, runtimes) are open in the official schema; we annotate their known keys,
 *    so an unknown key there is reported: a likely misspelling of a known key (`triger`, `depoyment`, `scripts`,
 *    `debth`) as an error, any other as a warning.
 * 4. Keys Bitbucket has shipped since this copy of the schema: `output-variables`, `on-fail` (on a step, a stage
 *    and a parallel group; strategies `fail`, `ignore` and `retry` with `maxRetryCount` 1–10), `oidc` as
 *    `{audiences: [...]}` as well as `true` (on a step and in `options`, at most 10 audiences of at most 150
 *    characters), and `options.runs-on`.
 */
export function relaxSchema(schema: SchemaNode): SchemaNode {
  const relaxNode = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(relaxNode);
    if (!isNode(value)) return value;
    const copy: SchemaNode = {};
    for (const [key, child] of Object.entries(value)) copy[key] = relaxNode(child);
    if (copy.additionalProperties === false && isNode(copy.properties)) {
      const keys = Object.keys(copy.properties);
      delete copy.additionalProperties;
      copy[KNOWN_KEYS] = keys;
      if (keys.length === 1 && copy.required === undefined) copy.required = keys;
    }
    return copy;
  };
  const relaxed = relaxNode(schema) as SchemaNode;

  const schemas = (relaxed.components as SchemaNode | undefined)?.schemas as SchemaNode | undefined;
  if (!isNode(schemas)) return relaxed;
  const node = (value: unknown): SchemaNode | undefined => (isNode(value) ? value : undefined);
  const propertiesOf = (value: SchemaNode | undefined): SchemaNode => {
    if (!value) return {};
    if (!isNode(value.properties)) value.properties = {};
    return value.properties as SchemaNode;
  };
  const annotate = (target: SchemaNode | undefined, keys: readonly string[], typosWarn = false) => {
    if (!target) return;
    target[KNOWN_KEYS] = [...new Set(keys)];
    if (typosWarn) target[TYPOS_WARN] = true;
  };

  const configuration = node(schemas.pipelines_configuration);
  const top = propertiesOf(configuration);
  annotate(configuration, Object.keys(top), true);
  const pipelines = node(top.pipelines);
  annotate(pipelines, [...Object.keys(propertiesOf(pipelines)), "bookmarks"], true);

  // 4. Keys newer than this copy of the schema.
  const audiences = {
    type: "array",
    minItems: 1,
    maxItems: 10,
    items: { type: "string", minLength: 1, maxLength: 150, title: "Audience" },
  };
  const oidc = {
    description: "Enables the use of OpenID Connect, with the default audience (true) or the given ones.",
    oneOf: [{ type: "boolean" }, { type: "object", properties: { audiences }, required: ["audiences"] }],
  };
  const onFail = {
    title: "Failure strategy",
    type: "object",
    properties: {
      strategy: { enum: ["fail", "ignore", "retry"], type: "string" },
      maxRetryCount: { type: "integer", minimum: 1, maximum: 10 },
    },
    required: ["strategy"],
  };
  const stepBase = node(schemas.step_base);
  const stepProperties = propertiesOf(stepBase);
  stepProperties["output-variables"] = {
    title: "Output variables",
    description: "Variables the step may write to $BITBUCKET_PIPELINES_VARIABLES_PATH for the steps after it.",
    type: "array",
    minItems: 1,
    items: { type: "string", pattern: VARIABLE_NAME },
  };
  stepProperties["on-fail"] = onFail;
  stepProperties.oidc = oidc;
  const options = node(top.options);
  const optionProperties = propertiesOf(options);
  optionProperties.oidc = oidc;
  optionProperties["runs-on"] = { $ref: "#/components/schemas/runs_on" };
  const stage = node(schemas.stage);
  propertiesOf(stage)["on-fail"] = onFail;
  const parallel = node(schemas.parallel_expanded);
  propertiesOf(parallel)["on-fail"] = onFail;
  const onFailNodes = [stepProperties["on-fail"], propertiesOf(stage)["on-fail"], propertiesOf(parallel)["on-fail"]];

  // 3. What a step does: unknown keys are reported, misspellings as errors.
  const stepKeys = [...Object.keys(stepProperties), "condition"];
  annotate(node(schemas.step), stepKeys);
  const stageStep = node(node(node(node(propertiesOf(stage).steps)?.items)?.properties)?.step);
  annotate(stageStep, stepKeys);
  annotate(stage, Object.keys(propertiesOf(stage)));
  annotate(parallel, Object.keys(propertiesOf(parallel)));
  annotate(options, Object.keys(optionProperties));
  for (const name of ["clone", "artifacts_expanded", "artifacts_upload", "condition", "cache_expanded", "service", "runtime", "cloud", "pipe"]) {
    const target = node(schemas[name]);
    annotate(target, Object.keys(propertiesOf(target)));
  }
  for (const target of onFailNodes) annotate(node(target), ["strategy", "maxRetryCount"]);
  annotate(node(oidc.oneOf[1]), ["audiences"]);
  return relaxed;
}

/** Keywords that check a value itself rather than its children; `schema-check` validates them node by node. */
export const LOCAL_KEYWORDS = [
  "type", "enum", "const", "required", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
  "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength",
  "pattern", "format", "not",
] as const;

/** Keywords that `schema-check` follows itself, down into the children of a value. */
export const STRUCTURAL_KEYWORDS = ["$ref", "allOf", "oneOf", "anyOf", "properties", "additionalProperties", "items"] as const;

/** Keywords that only document (or identify) a schema. */
export const ANNOTATION_KEYWORDS = ["$id", "$schema", "title", "description", "default", "example", "examples", "components", KNOWN_KEYS, TYPOS_WARN] as const;

/**
 * Every keyword used anywhere in a schema. A test compares this with the keywords `schema-check` understands,
 * so a new keyword in a future copy of Atlassian's schema cannot be skipped silently.
 */
export function keywordsUsed(schema: SchemaNode): Set<string> {
  const found = new Set<string>();
  const visitSchema = (node: unknown): void => {
    if (!isNode(node)) return;
    for (const [keyword, value] of Object.entries(node)) {
      found.add(keyword);
      if (keyword === "properties" && isNode(value)) Object.values(value).forEach(visitSchema);
      else if (keyword === "components" && isNode(value) && isNode(value.schemas)) Object.values(value.schemas).forEach(visitSchema);
      else if (["allOf", "oneOf", "anyOf"].includes(keyword) && Array.isArray(value)) value.forEach(visitSchema);
      else if (["additionalProperties", "items", "not"].includes(keyword)) visitSchema(value);
    }
  };
  visitSchema(schema);
  return found;
}

/** The compiled, relaxed schema: its tree and validators for any part of it. */
export interface CompiledSchema {
  /** The relaxed schema tree. */
  readonly root: SchemaNode;
  /** Validates a value against the whole relaxed schema. */
  readonly validate: ValidateFunction;
  /** A validator for the subschema at a JSON pointer (e.g. `/components/schemas/step_item`), with its children. */
  at(pointer: string): ValidateFunction;
  /** A validator for only the local keywords (type, enum, required, ...) of the subschema at a pointer; undefined if it has none. */
  localAt(pointer: string, node: SchemaNode): ValidateFunction | undefined;
}

let compiled: CompiledSchema | undefined;

/** The relaxed official schema, compiled once and cached for the life of the process. */
export function pipelineSchema(): CompiledSchema {
  if (compiled) return compiled;
  const root = relaxSchema(officialSchema);
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(root, SCHEMA_ID);
  const validate = ajv.getSchema(SCHEMA_ID);
  if (!validate) throw new Error("the Bitbucket Pipelines schema did not compile");

  const byPointer = new Map<string, ValidateFunction>();
  const localByPointer = new Map<string, ValidateFunction | undefined>();
  compiled = {
    root,
    validate,
    at(pointer) {
      let fn = byPointer.get(pointer);
      if (!fn) {
        fn = ajv.getSchema(`${SCHEMA_ID}#${pointer}`);
        if (!fn) throw new Error(`no subschema at ${pointer}`);
        byPointer.set(pointer, fn);
      }
      return fn;
    },
    localAt(pointer, node) {
      if (localByPointer.has(pointer)) return localByPointer.get(pointer);
      const local: SchemaNode = {};
      for (const keyword of LOCAL_KEYWORDS) if (node[keyword] !== undefined) local[keyword] = node[keyword];
      const fn = Object.keys(local).length > 0 ? ajv.compile(local) : undefined;
      localByPointer.set(pointer, fn);
      return fn;
    },
  };
  return compiled;
}
