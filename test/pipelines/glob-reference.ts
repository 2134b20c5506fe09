import { compareSpecificity, type GlobSpecificity } from "../../src/pipelines";

/**
 * The matcher that served until the automaton replaced it: each pattern became a regular expression. It gives the
 * right answers but can take exponential time (`*a*a*a…*b`) and throws on very long patterns, so it stays here only
 * as the reference the automaton must agree with.
 */
type Token =
  | { kind: "literal"; text: string }
  | { kind: "star" }
  | { kind: "globstar" }
  | { kind: "one" }
  | { kind: "alternation"; options: Token[][] };

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
      tokens.push({ kind: "alternation", options: bounds.slice(0, -1).map((start, k) => tokenize(pattern.slice(start + 1, bounds[k + 1]))) });
      i = close;
    } else {
      literal(ch);
    }
  }
  return tokens;
}

function source(tokens: readonly Token[]): string {
  return tokens
    .map((t) => {
      switch (t.kind) {
        case "literal":
          return t.text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
        case "star":
          return "[^/]*";
        case "globstar":
          return ".*";
        case "one":
          return "[^/]";
        case "alternation":
          return `(?:${t.options.map(source).join("|")})`;
      }
    })
    .join("");
}

function expand(tokens: readonly Token[]): Token[][] {
  let results: Token[][] = [[]];
  for (const token of tokens) {
    if (token.kind !== "alternation") {
      results = results.map((r) => [...r, token]);
      continue;
    }
    const next: Token[][] = [];
    for (const option of token.options) for (const prefix of results) for (const rest of expand(option)) next.push([...prefix, ...rest]);
    results = next;
  }
  return results;
}

function measure(tokens: readonly Token[]): GlobSpecificity {
  const s = { literals: 0, doubleStars: 0, singleStars: 0 };
  for (const t of tokens) {
    if (t.kind === "literal") s.literals += t.text.length;
    else if (t.kind === "globstar") s.doubleStars++;
    else if (t.kind === "star") s.singleStars++;
  }
  return s;
}

export function match(pattern: string, name: string): boolean {
  return new RegExp(`^${source(tokenize(pattern))}$`, "s").test(name);
}

export function specificity(pattern: string, name?: string): GlobSpecificity {
  const measured = expand(tokenize(pattern)).map((alt) => ({ alt, s: measure(alt) }));
  const applicable = name === undefined ? [] : measured.filter(({ alt }) => new RegExp(`^${source(alt)}$`, "s").test(name));
  if (applicable.length > 0) return applicable.map((m) => m.s).sort(compareSpecificity)[0] as GlobSpecificity;
  return measured.map((m) => m.s).sort(compareSpecificity)[measured.length - 1] as GlobSpecificity;
}
