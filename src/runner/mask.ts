import { secretVariants } from "./secret-variants";

export const MASK = "********";

/**
 * Secrets shorter than this are not masked: a 1–3 character value ("1", "yes", "dev") occurs everywhere in
 * ordinary output, so masking it would destroy the log while hiding nothing worth hiding.
 */
export const MIN_SECRET_LENGTH = 4;

/** A streaming transformer: feed output through `push` as it arrives and call `flush` once at the end. */
export interface Masker {
  push(chunk: string): string;
  flush(): string;
}

/**
 * Replaces every occurrence of each secret — plain, URL-encoded or base64-encoded (see `secretVariants`) — with
 * `********`, also when an occurrence is split across chunks. Longer values are matched first, so a secret that
 * contains another one is masked whole.
 *
 * Only the trailing characters that could still be the start of a secret are held back (at most the longest
 * variant's length − 1, usually none), so output is delayed as little as possible. `flush` releases the rest.
 */
export function createMasker(secrets: readonly string[]): Masker {
  const variants = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    for (const v of secretVariants(secret, MIN_SECRET_LENGTH)) variants.add(v);
  }
  if (variants.size === 0) return { push: (chunk) => chunk, flush: () => "" };

  const patterns = [...variants].sort((a, b) => b.length - a.length);
  const maxLen = patterns[0].length;

  const byFirstChar = new Map<string, string[]>();
  for (const p of patterns) {
    const list = byFirstChar.get(p[0]) ?? [];
    list.push(p);
    byFirstChar.set(p[0], list);
  }

  /** First index from which the rest of `text` is a proper prefix of some variant (text.length if none). */
  const holdStart = (text: string): number => {
    for (let i = Math.max(0, text.length - maxLen + 1); i < text.length; i++) {
      const candidates = byFirstChar.get(text[i]);
      if (!candidates) continue;
      const tail = text.substring(i);
      if (candidates.some((p) => p.length > tail.length && p.startsWith(tail))) return i;
    }
    return text.length;
  };

  /**
   * Every occurrence of every variant, chosen like a regular expression `longest|…|shortest` would: leftmost first,
   * the longest at the same place, never overlapping. Found with `indexOf` per variant, which scans text many
   * times faster than one alternation (V8 cannot skip ahead through an alternation of many literals).
   */
  const occurrences = (text: string): Array<[number, number]> => {
    const found: Array<[number, number]> = [];
    for (const p of patterns) {
      for (let i = text.indexOf(p); i >= 0; i = text.indexOf(p, i + 1)) found.push([i, p.length]);
    }
    if (found.length > 1) found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    const chosen: Array<[number, number]> = [];
    let end = 0;
    for (const [at, len] of found) {
      if (at < end) continue;
      chosen.push([at, len]);
      end = at + len;
    }
    return chosen;
  };

  let held = "";
  const run = (text: string, final: boolean): string => {
    const stop = final ? text.length : holdStart(text);
    let out = "";
    let last = 0;
    for (const [at, len] of occurrences(text)) {
      if (at >= stop) break;
      out += text.slice(last, at) + MASK;
      last = at + len;
    }
    const emitEnd = Math.max(stop, last);
    out += text.slice(last, emitEnd);
    held = text.slice(emitEnd);
    return out;
  };

  return {
    push: (chunk) => run(held + chunk, false),
    flush: () => run(held, true),
  };
}
