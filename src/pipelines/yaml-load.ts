/**
 * Turns the text of a pipeline file into a YAML document and a plain value, within limits, reporting YAML problems
 * with their line and column. Knows nothing about pipelines.
 *
 * The text is hostile input, so every stage is bounded before the next one starts:
 * 1. size: the text is measured before anything reads it;
 * 2. nesting: the syntax tree (which the yaml library builds without recursion) is measured before the document
 *    is composed from it (which recurses once per level);
 * 3. expansion: the document is walked once, in order, counting every node and every alias as the nodes it
 *    stands for (sizes of anchored nodes are remembered, so the walk itself is linear); the first alias that
 *    takes the count past the limit is refused, as is an alias that stands for a node containing it (a cycle);
 * 4. only then is the plain value built, sharing one value per anchor like the yaml library does.
 */
import { Composer, LineCounter, Parser, isAlias, isMap, isPair, isScalar, isSeq, visit, type Alias, type CST, type Document, type Node, type YAMLError } from "yaml";
import type { Diagnostic } from "./diagnostic";
import { count, DEFAULT_LIMITS, type PipelineFileLimits } from "./limits";
import { isMergeKey, keyText } from "./locate";

export type LoadedYaml =
  | {
      ok: true;
      doc: Document;
      lineCounter: LineCounter;
      /** The document as plain data. */
      value: unknown;
      warnings: Diagnostic[];
      /** The node an alias stands for (the last node before it with that anchor), as `toJS` resolves it. */
      resolveAlias(alias: Alias): Node | undefined;
    }
  | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[] };

/** The yaml library appends " at line L, column C:" and a code excerpt; we report the position separately. */
function cleanYamlMessage(message: string): string {
  const firstLine = message.split("\n")[0] ?? message;
  return firstLine.replace(/ at line \d+, column \d+:?$/, "");
}

function at(lineCounter: LineCounter, offset: number | undefined, message: string): Diagnostic {
  if (offset === undefined) return { message };
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col, message };
}

function toDiagnostic(lineCounter: LineCounter, error: YAMLError): Diagnostic {
  return at(lineCounter, error.pos[0], cleanYamlMessage(error.message));
}

/** YAML problems reported one by one; past this many the file is not read further (a broken file can have thousands). */
const MAX_REPORTED = 20;

function reported(problems: readonly YAMLError[], lineCounter: LineCounter, what: string): Diagnostic[] {
  const list = problems.slice(0, MAX_REPORTED).map((e) => toDiagnostic(lineCounter, e));
  const next = problems[MAX_REPORTED];
  if (next) list.push(at(lineCounter, next.pos[0], `and more ${what}s from here on: the file is not read further (only the first ${MAX_REPORTED} are listed)`));
  return list;
}

/** Thrown out of the yaml library's composer once it has found enough errors, to stop it composing the rest. */
class EnoughErrors extends Error {}

/**
 * A composer that stops at the first error past `MAX_REPORTED`: nothing after it is reported anyway, and a hostile
 * file of 128 KiB can hold 26,000 of them. The composer keeps its error handler in a private field (yaml 2.x); if a
 * later version moves it, this only stops being a shortcut.
 */
function stoppingComposer(): Composer {
  const composer = new Composer({ merge: true, uniqueKeys: false });
  const internals = composer as unknown as { onError?: (...args: unknown[]) => void; errors: YAMLError[] };
  const onError = internals.onError;
  if (typeof onError === "function") {
    internals.onError = (...args: unknown[]) => {
      onError(...args);
      if (internals.errors.length > MAX_REPORTED) throw new EnoughErrors();
    };
  }
  return composer;
}

/** Where the text passes `maxBytes` of UTF-8: the line and column of the first character beyond it. */
function sizeProblem(text: string, maxBytes: number): Diagnostic | undefined {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= maxBytes) return undefined;
  let used = 0;
  let line = 1;
  let column = 1;
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    used += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (used > maxBytes) break;
    if (ch === "\n") {
      line++;
      column = 1;
    } else {
      column += ch.length;
    }
  }
  return {
    line,
    column,
    message: `the file is ${count(bytes)} bytes, more than the ${count(maxBytes)} a pipeline file may have (the size limit); it is not read`,
  };
}

interface SyntaxTreeFacts {
  /** Offset of the first collection (in document order) nested deeper than the limit. */
  tooDeepAt?: number;
  /** The syntax errors the parser left in the tree, in document order, up to one past `MAX_REPORTED`. */
  errors: CST.ErrorToken[];
}

/**
 * Walks the syntax tree without recursion: finds the first collection nested deeper than `maxDepth`, and collects
 * the parser's error tokens (the composer turns each into an error object, which costs dearly by the thousand).
 */
function measureSyntaxTree(tokens: readonly CST.Token[], maxDepth: number): SyntaxTreeFacts {
  const facts: SyntaxTreeFacts = { errors: [] };
  const stack: [CST.Token, number][] = [];
  for (let i = tokens.length - 1; i >= 0; i--) stack.push([tokens[i] as CST.Token, 0]);
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [token, depth] = top;
    if (token.type === "error") {
      if (facts.errors.length <= MAX_REPORTED) facts.errors.push(token);
    } else if (token.type === "document") {
      if (token.value) stack.push([token.value, depth]);
    } else if (token.type === "block-map" || token.type === "block-seq" || token.type === "flow-collection") {
      if (depth + 1 > maxDepth) {
        facts.tooDeepAt = token.offset;
        return facts;
      }
      for (let i = token.items.length - 1; i >= 0; i--) {
        const item = token.items[i] as CST.CollectionItem;
        if (item.value) stack.push([item.value, depth + 1]);
        if (item.key) stack.push([item.key, depth + 1]);
      }
    }
  }
  return facts;
}

function depthMessage(maxDepth: number): string {
  return `mappings and lists are nested more than ${maxDepth} levels deep here (the depth limit for a pipeline file)`;
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

function startOf(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null | undefined)?.range?.[0];
}

/** What an anchored node expands to: how many nodes, how many levels of mappings and lists. */
interface Expansion {
  size: number;
  height: number;
}

interface Frame {
  node: Node;
  children: unknown[];
  next: number;
  depth: number;
  size: number;
  height: number;
}

/**
 * Walks the document once, in order, without recursion: resolves every alias to the last node before it with its
 * anchor (as the yaml library does), and counts nodes with aliases expanded. Anchored nodes are finished before
 * any alias can stand for them, except the nodes that contain the alias: those are cycles. Returns the alias
 * targets, or the first problem.
 */
function expandAliases(doc: Document, lineCounter: LineCounter, limits: PipelineFileLimits): { targets: Map<Alias, Node> } | { error: Diagnostic } {
  const cap = limits.maxNodes + 1;
  const anchors = new Map<string, Node>();
  const expansions = new Map<Node, Expansion>();
  const targets = new Map<Alias, Node>();
  let total = 0;
  const stack: Frame[] = [];

  const childrenOf = (node: Node): unknown[] | undefined => {
    if (isMap(node)) return node.items.flatMap((pair) => (isPair(pair) ? [pair.key, pair.value] : []));
    if (isSeq(node)) return node.items;
    return undefined;
  };
  /** Adds a child's expansion to the frame being walked. */
  const addToParent = (size: number, height: number) => {
    const parent = stack[stack.length - 1];
    if (!parent) return;
    parent.size = Math.min(cap, parent.size + size);
    parent.height = Math.max(parent.height, 1 + height);
  };
  /** Enters a node; returns a problem, or undefined. */
  const enter = (node: unknown, depth: number): Diagnostic | undefined => {
    if (node === null || node === undefined || typeof node !== "object") return undefined;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (!target) return at(lineCounter, startOf(node), `alias *${node.source} has no anchor &${node.source} before it (an anchor must be defined before its aliases)`);
      const expansion = expansions.get(target);
      if (!expansion) {
        return at(lineCounter, startOf(node), `alias *${node.source} stands for a node that contains it (a cycle): it would never end`);
      }
      targets.set(node, target);
      total = Math.min(cap, total + expansion.size);
      if (total > limits.maxNodes) {
        return at(
          lineCounter,
          startOf(node),
          `alias *${node.source} stands for ${count(expansion.size)} node${expansion.size === 1 ? "" : "s"}, which takes the file past ${count(limits.maxNodes)} YAML nodes with aliases expanded (the node limit for a pipeline file); it is refused before it is expanded`,
        );
      }
      if (depth + expansion.height > limits.maxDepth) return at(lineCounter, startOf(node), depthMessage(limits.maxDepth));
      addToParent(expansion.size, expansion.height);
      return undefined;
    }
    const n = node as Node;
    total++;
    if (total > limits.maxNodes) {
      return at(lineCounter, startOf(n), `the file has more than ${count(limits.maxNodes)} YAML nodes (the node limit for a pipeline file); this is where it passes it`);
    }
    if (typeof n.anchor === "string" && n.anchor !== "") anchors.set(n.anchor, n);
    const children = childrenOf(n);
    if (!children) {
      if (n.anchor) expansions.set(n, { size: 1, height: 0 });
      addToParent(1, 0);
      return undefined;
    }
    if (depth + 1 > limits.maxDepth) return at(lineCounter, startOf(n), depthMessage(limits.maxDepth));
    stack.push({ node: n, children, next: 0, depth: depth + 1, size: 1, height: 1 });
    return undefined;
  };

  const first = enter(doc.contents, 0);
  if (first) return { error: first };
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    if (frame.next < frame.children.length) {
      const problem = enter(frame.children[frame.next++], frame.depth);
      if (problem) return { error: problem };
      continue;
    }
    stack.pop();
    const expansion = { size: frame.size, height: frame.height };
    if (frame.node.anchor) expansions.set(frame.node, expansion);
    addToParent(expansion.size, expansion.height);
  }
  return { targets };
}

class MergeError extends Error {
  constructor(readonly offset: number | undefined, message: string) {
    super(message);
  }
}

function describeNode(node: unknown): string {
  if (isSeq(node)) return "a list";
  if (isMap(node)) return "a mapping";
  return "a single value";
}

/**
 * Builds the plain value of the document the way the yaml library's `toJS` does (same key order, same merge rules:
 * explicit keys win over merged ones, earlier merge sources over later ones; duplicate keys: the last wins), but
 * with aliases resolved through the walk above, and one value per anchored node shared by its aliases.
 */
function toPlain(doc: Document, targets: Map<Alias, Node>): unknown {
  const built = new Map<Node, unknown>();
  const define = (map: Record<string, unknown>, key: string, value: unknown) => {
    Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
  };
  const convert = (node: unknown): unknown => {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      const target = targets.get(node);
      return target === undefined ? null : convert(target);
    }
    const n = node as Node;
    if (n.anchor && built.has(n)) return built.get(n);
    let value: unknown;
    if (isScalar(n)) {
      value = typeof n.value === "bigint" ? Number(n.value) : n.value;
    } else if (isSeq(n)) {
      const list: unknown[] = [];
      if (n.anchor) built.set(n, list);
      for (const item of n.items) list.push(convert(item));
      value = list;
    } else if (isMap(n)) {
      const map: Record<string, unknown> = {};
      if (n.anchor) built.set(n, map);
      for (const pair of n.items) {
        if (!isPair(pair)) continue;
        if (isMergeKey(pair.key)) {
          const source = isAlias(pair.value) ? targets.get(pair.value) : pair.value;
          const sources = isSeq(source) ? source.items.map((item) => (isAlias(item) ? targets.get(item) : item)) : [source];
          for (const item of sources) {
            if (!isMap(item)) {
              throw new MergeError(startOf(pair.value), `"<<" merges mappings (or aliases of mappings) into a mapping, not ${describeNode(item)}`);
            }
            const merged = convert(item) as Record<string, unknown>;
            for (const key of Object.keys(merged)) if (!Object.hasOwn(map, key)) define(map, key, merged[key]);
          }
          continue;
        }
        const key = isScalar(pair.key) ? pair.key.value : convert(pair.key);
        const text = key === null || key === undefined ? "" : typeof key === "object" ? JSON.stringify(key) : String(key);
        define(map, text, convert(pair.value));
      }
      value = map;
    } else {
      value = null;
    }
    if (n.anchor) built.set(n, value);
    return value;
  };
  return convert(doc.contents);
}

/**
 * Parses YAML 1.2 (core schema) with YAML 1.1 merge keys (`<<: *anchor`) enabled, as Bitbucket files use them,
 * within `limits`. Never throws.
 */
export function loadYaml(text: string, limits: PipelineFileLimits = DEFAULT_LIMITS): LoadedYaml {
  const tooBig = sizeProblem(text, limits.maxBytes);
  if (tooBig) return { ok: false, errors: [tooBig], warnings: [] };

  const lineCounter = new LineCounter();
  let docs: Document[];
  // The yaml library makes an Error (with a stack trace) for every problem it finds; a hostile file can have one
  // per character, and capturing tens of thousands of stack traces costs seconds. Nobody reads them here.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
    const tree = measureSyntaxTree(tokens, limits.maxDepth);
    if (tree.tooDeepAt !== undefined) return { ok: false, errors: [at(lineCounter, tree.tooDeepAt, depthMessage(limits.maxDepth))], warnings: [] };
    if (tree.errors.length > MAX_REPORTED) {
      // Too broken to be worth composing: say where, as the composer would have.
      const errors = tree.errors.slice(0, MAX_REPORTED).map((e) => at(lineCounter, e.offset, e.source ? `${e.message}: ${JSON.stringify(e.source)}` : e.message));
      errors.push(at(lineCounter, tree.errors[MAX_REPORTED]?.offset, `and more YAML errors from here on: the file is not read further (only the first ${MAX_REPORTED} are listed)`));
      return { ok: false, errors, warnings: [] };
    }
    const composer = stoppingComposer();
    try {
      docs = Array.from(composer.compose(tokens, true, text.length));
    } catch (err) {
      if (!(err instanceof EnoughErrors)) throw err;
      const errors = (composer as unknown as { errors: YAMLError[] }).errors;
      return { ok: false, errors: reported(errors, lineCounter, "YAML error"), warnings: [] };
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  const doc = docs[0] as Document;
  const errors = reported(doc.errors, lineCounter, "YAML error");
  const warnings = reported(doc.warnings, lineCounter, "YAML warning");
  const second = docs[1];
  if (second) {
    errors.push(at(lineCounter, second.range?.[0], 'multiple documents in one file (separated by "---"): a pipeline file is a single YAML document'));
  }
  if (errors.length > 0) return { ok: false, errors, warnings };

  const expanded = expandAliases(doc, lineCounter, limits);
  if ("error" in expanded) return { ok: false, errors: [expanded.error], warnings };

  keepKeysAsWritten(doc);
  warnings.push(...duplicateKeyWarnings(doc, lineCounter));
  try {
    const value = toPlain(doc, expanded.targets);
    return { ok: true, doc, lineCounter, value, warnings, resolveAlias: (alias) => expanded.targets.get(alias) };
  } catch (err) {
    if (!(err instanceof MergeError)) throw err;
    return { ok: false, errors: [at(lineCounter, err.offset, err.message)], warnings };
  }
}
