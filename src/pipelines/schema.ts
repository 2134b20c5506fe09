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
 *    `bookmarks` (Mercurial, retired) is known there; a rule reports that it is ignored.
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
  const configuration = schemas?.pipelines_configuration;
  if (isNode(configuration) && isNode(configuration.properties)) {
    configuration[KNOWN_KEYS] = Object.keys(configuration.properties);
    const pipelines = configuration.properties.pipelines;
    if (isNode(pipelines) && isNode(pipelines.properties)) {
      pipelines[KNOWN_KEYS] = [...Object.keys(pipelines.properties), "bookmarks"];
    }
  }
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
export const ANNOTATION_KEYWORDS = ["$id", "$schema", "title", "description", "default", "example", "examples", "components", KNOWN_KEYS] as const;

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
