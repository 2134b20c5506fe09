/**
 * Maps a path into the parsed configuration back to the line and column of the YAML node it came from.
 */
import { Document, LineCounter, isAlias, isMap, isPair, isScalar, isSeq, type Alias, type Node, type Pair } from "yaml";
import type { ConfigPath } from "./diagnostic";

export interface Position {
  line: number;
  column: number;
}

/** True for the `<<` key of a YAML merge. */
export function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (key.source === "<<" || typeof key.value === "symbol");
}

/** The text a map key stands for, as the configuration object spells it. */
export function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

/** The node an alias stands for (see `loadYaml`, which resolves every alias once). */
export type AliasResolver = (alias: Alias) => Node | undefined;

function deref(node: unknown, resolve: AliasResolver): unknown {
  let current = node;
  // An alias can point at another alias only through anchors, which YAML forbids; a few hops is enough.
  for (let hops = 0; isAlias(current) && hops < 8; hops++) current = resolve(current);
  return current;
}

/**
 * Finds the pair for `key` in a map the way `toJS` builds objects: the last duplicate wins, and keys
 * written in the map win over keys brought in by a `<<` merge (earlier merge sources win over later ones).
 */
function findPair(map: unknown, key: string, resolve: AliasResolver, depth = 0): Pair | undefined {
  if (!isMap(map) || depth > 8) return undefined;
  for (let i = map.items.length - 1; i >= 0; i--) {
    const pair = map.items[i];
    if (isPair(pair) && !isMergeKey(pair.key) && keyText(pair.key) === key) return pair;
  }
  for (const pair of map.items) {
    if (!isPair(pair) || !isMergeKey(pair.key)) continue;
    const value = deref(pair.value, resolve);
    const sources = isSeq(value) ? value.items.map((item) => deref(item, resolve)) : [value];
    for (const source of sources) {
      const found = findPair(source, key, resolve, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/**
 * The start offset of the node at `path`. A map entry is located at its key (that is where people look);
 * a list item at the item. When the path leaves the document (a value that does not exist), the deepest
 * node that does exist is used, so a diagnostic always lands near its cause.
 */
export function offsetOfPath(doc: Document, path: ConfigPath, resolve: AliasResolver): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const segment of path) {
    // Look through aliases on the way down; the last node keeps its own position (the alias itself).
    const container = deref(node, resolve);
    if (isMap(container)) {
      const pair = findPair(container, String(segment), resolve);
      if (!pair) break;
      node = pair.value;
      offset = rangeStart(pair.key) ?? rangeStart(pair.value) ?? offset;
    } else if (isSeq(container)) {
      const index = typeof segment === "number" ? segment : Number(segment);
      const item = Number.isInteger(index) ? container.items[index] : undefined;
      if (item === undefined) break;
      node = item;
      offset = rangeStart(item) ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

/** The 1-based line and column of the node at `path`, when the document has one. */
export function positionOfPath(doc: Document, lineCounter: LineCounter, path: ConfigPath, resolve: AliasResolver): Position | undefined {
  const offset = offsetOfPath(doc, path, resolve);
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
