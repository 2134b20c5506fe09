/**
 * Glob patterns as Bitbucket Pipelines uses them for branch, tag and pull-request keys and for
 * `condition.changesets` paths.
 *
 * - `*`  matches any run of characters except `/` (so `feature/*` matches `feature/x`, not `feature/x/y`);
 * - `**` matches any run of characters including `/` (so `'**'` matches every branch);
 * - `?`  matches one character except `/`;
 * - `{a,b}` matches `a` or `b`; alternatives may contain globs and may nest (`{feature/*,hotfix/{a,b}}`);
 *   braces without a comma at their top level (`{x}`) are literal text;
 * - `\x` matches `x` literally;
 * - everything else, including `[` and `]`, matches itself. Matching is case-sensitive and covers the whole name.
 */

type Token =
  | { kind: "literal"; text: string }
  | { kind: "star" }
  | { kind: "globstar" }
  | { kind: "one" }
  | { kind: "alternation"; options: Token[][] };

/** Index of the `}` that closes the `{` at `open`, or -1; `commas` gets the top-level comma positions. */
function closingBrace(pattern: string, open: number, commas: number[]): number {
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") i++;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) return i;
    else if (ch === "," && depth === 1) commas.push(i);
  }
  return -1;
}

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  const literal = (text: string): void => {
    const last = tokens[tokens.length - 1];
    if (last?.kind === "literal") last.text += text;
    else tokens.push({ kind: "literal", text });
  };
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === "\\" && i + 1 < pattern.length) {
      literal(pattern[++i] as string);
    } else if (ch === "*") {
      let end = i;
      while (pattern[end + 1] === "*") end++;
      tokens.push({ kind: end > i ? "globstar" : "star" });
      i = end;
    } else if (ch === "?") {
      tokens.push({ kind: "one" });
    } else if (ch === "{") {
      const commas: number[] = [];
      const close = closingBrace(pattern, i, commas);
      if (close === -1 || commas.length === 0) {
        literal(ch);
        continue;
      }
      const bounds = [i, ...commas, close];
      const options = bounds.slice(0, -1).map((start, k) => tokenize(pattern.slice(start + 1, bounds[k + 1])));
      tokens.push({ kind: "alternation", options });
      i = close;
    } else {
      literal(ch);
    }
  }
  return tokens;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function toRegExpSource(tokens: readonly Token[]): string {
  return tokens
    .map((token) => {
      switch (token.kind) {
        case "literal":
          return escapeRegExp(token.text);
        case "star":
          return "[^/]*";
        case "globstar":
          return ".*";
        case "one":
          return "[^/]";
        case "alternation":
          return `(?:${token.options.map(toRegExpSource).join("|")})`;
      }
    })
    .join("");
}

const compiledPatterns = new Map<string, RegExp>();
const MAX_CACHED_PATTERNS = 2000;

function compile(pattern: string): RegExp {
  let regexp = compiledPatterns.get(pattern);
  if (!regexp) {
    regexp = new RegExp(`^${toRegExpSource(tokenize(pattern))}$`, "s");
    if (compiledPatterns.size >= MAX_CACHED_PATTERNS) compiledPatterns.clear();
    compiledPatterns.set(pattern, regexp);
  }
  return regexp;
}

/** True when `name` (a branch, tag or file path) matches the glob `pattern` as a whole. */
export function matchGlob(pattern: string, name: string): boolean {
  return compile(pattern).test(name);
}

/** True when a pattern has no glob syntax at all, so it names exactly one branch or tag. */
export function isExactPattern(pattern: string): boolean {
  return !/[*?{\\]/.test(pattern);
}

/**
 * How specific a glob is: how many characters it pins down, and how many wildcards it has.
 * See `compareSpecificity` for the order.
 */
export interface GlobSpecificity {
  /** Characters that must appear literally (`feature/*` has 8). `?` and wildcards are not literal. */
  literals: number;
  /** Number of `**` wildcards. */
  doubleStars: number;
  /** Number of `*` wildcards (not counting `**`). */
  singleStars: number;
}

const MAX_ALTERNATIVES = 256;

/** Expands `{a,b}` alternations into plain sequences; undefined when there would be too many. */
function expand(tokens: readonly Token[]): Token[][] | undefined {
  let results: Token[][] = [[]];
  for (const token of tokens) {
    if (token.kind !== "alternation") {
      results = results.map((r) => [...r, token]);
      continue;
    }
    const next: Token[][] = [];
    for (const option of token.options) {
      const expanded = expand(option);
      if (!expanded) return undefined;
      for (const prefix of results) for (const rest of expanded) next.push([...prefix, ...rest]);
      if (next.length > MAX_ALTERNATIVES) return undefined;
    }
    results = next;
  }
  return results;
}

function measure(tokens: readonly Token[]): GlobSpecificity {
  const s: GlobSpecificity = { literals: 0, doubleStars: 0, singleStars: 0 };
  for (const token of tokens) {
    if (token.kind === "literal") s.literals += token.text.length;
    else if (token.kind === "globstar") s.doubleStars++;
    else if (token.kind === "star") s.singleStars++;
    // An alternation only remains here when expansion gave up; count it as one `*`, i.e. as vague.
    else if (token.kind === "alternation") s.singleStars++;
  }
  return s;
}

/**
 * Orders globs from most to least specific: negative when `a` is more specific than `b`.
 *
 * A glob is more specific than another when, in this order:
 * 1. it has more literal characters: `release/v1.*` (11) beats `release/*` (8), which beats `**` (0);
 * 2. on a tie, it has fewer `**` (they cross `/`, so they match more): `*` beats `**`;
 * 3. on a tie, it has fewer `*`: `v?.?` beats `v*.*`.
 * Globs still tied are equally specific; callers then prefer the one declared first in the file.
 * An exact name (no glob syntax) is not ranked here: it always beats every glob (see `bestMatchingPattern`).
 */
export function compareSpecificity(a: GlobSpecificity, b: GlobSpecificity): number {
  return b.literals - a.literals || a.doubleStars - b.doubleStars || a.singleStars - b.singleStars;
}

/**
 * The specificity of `pattern`. An alternation counts as the alternative that applies: with `name`, the most
 * specific alternative that matches `name` (`{main,release/*}` for `main` measures as `main`); without a name,
 * or when none matches, its least specific alternative.
 */
export function globSpecificity(pattern: string, name?: string): GlobSpecificity {
  const tokens = tokenize(pattern);
  const alternatives = expand(tokens);
  if (!alternatives) return measure(tokens);
  const measured = alternatives.map((alt) => ({ alt, s: measure(alt) }));
  const applicable = name === undefined ? [] : measured.filter(({ alt }) => new RegExp(`^${toRegExpSource(alt)}$`, "s").test(name));
  if (applicable.length > 0) return applicable.map((m) => m.s).sort(compareSpecificity)[0] as GlobSpecificity;
  return measured.map((m) => m.s).sort(compareSpecificity)[measured.length - 1] as GlobSpecificity;
}

/**
 * Picks the pattern that applies to `name` among patterns listed in file order:
 * an exact name equal to `name` wins outright; otherwise the most specific matching glob
 * (`compareSpecificity`), and among equally specific globs the one listed first. Undefined when none matches.
 */
export function bestMatchingPattern(patterns: readonly string[], name: string): string | undefined {
  let best: { pattern: string; s: GlobSpecificity } | undefined;
  for (const pattern of patterns) {
    if (isExactPattern(pattern)) {
      if (pattern === name) return pattern;
      continue;
    }
    if (!matchGlob(pattern, name)) continue;
    const s = globSpecificity(pattern, name);
    if (!best || compareSpecificity(s, best.s) < 0) best = { pattern, s };
  }
  return best?.pattern;
}
