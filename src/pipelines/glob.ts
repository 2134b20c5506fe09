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
 *
 * A pattern is written by whoever can push to a repository, so matching must never backtrack: a pattern is
 * compiled, in one pass, into a small automaton (one state per character of the pattern, at most), and a name
 * is matched by moving the set of active states forward one character at a time. That costs at most
 * (states × characters of the name) steps, whatever the pattern: `*a*a*a…*b` against `aaaa…` is as cheap as
 * `main` against `main`. The same walk, carrying a score per state, ranks patterns by specificity.
 */

// What a state does. Character-consuming states go to the next state (or stay, for the stars); all other moves
// (`epsilon` moves) go to a state with a higher index, so one forward sweep over the states completes a step.
const CHAR = 0; // consumes its character, then goes to the next state
const ONE = 1; // `?`: consumes any character but `/`, then goes to the next state
const STAR = 2; // `*`: consumes any character but `/` and stays; or moves on (epsilon) to the next state
const GLOBSTAR = 3; // `**`: consumes any character and stays; or moves on to the next state
const SPLIT = 4; // `{`: moves on to the first state of every alternative
const JUMP = 5; // `,` and `}`: moves on to the state after the alternation
const MATCH = 6; // the last state: the whole pattern was matched

const SLASH = 47;

/** A compiled pattern. Arrays are indexed by state; state 0 is the start, the last one is MATCH. */
interface Program {
  readonly op: Uint8Array;
  /** CHAR: the UTF-16 code unit it matches. JUMP: the state it moves on to. */
  readonly arg: Int32Array;
  /** SPLIT: its targets are `targets[targetStart[s]]` … `targets[targetStart[s + 1] - 1]`. */
  readonly targetStart: Int32Array;
  readonly targets: Int32Array;
  /** Exact patterns (no glob syntax) are compared as text. */
  readonly exact: boolean;
}

/**
 * Where the braces of a pattern pair up, in one pass with a stack (escaped characters skipped): for each `{`
 * its `}` (or -1), whether it has a comma directly inside, and for each comma the `{` it belongs to.
 */
function braceStructure(pattern: string): { close: Int32Array; hasComma: Uint8Array; commaOwner: Int32Array } {
  const n = pattern.length;
  const close = new Int32Array(n).fill(-1);
  const hasComma = new Uint8Array(n);
  const commaOwner = new Int32Array(n).fill(-1);
  const open: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 92 /* \ */) i++;
    else if (c === 123 /* { */) open.push(i);
    else if (c === 125 /* } */) {
      const o = open.pop();
      if (o !== undefined) close[o] = i;
    } else if (c === 44 /* , */ && open.length > 0) {
      const owner = open[open.length - 1] as number;
      hasComma[owner] = 1;
      commaOwner[i] = owner;
    }
  }
  return { close, hasComma, commaOwner };
}

/** Compiles a pattern in one left-to-right pass; nested alternations are kept on an explicit stack. */
function compileProgram(pattern: string): Program {
  const n = pattern.length;
  const { close, hasComma, commaOwner } = braceStructure(pattern);
  const isAlternation = (open: number) => open >= 0 && close[open] !== -1 && hasComma[open] === 1;
  const closesAlternation = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (isAlternation(i)) closesAlternation[close[i] as number] = 1;

  const op: number[] = [];
  const arg: number[] = [];
  const splitTargets = new Map<number, number[]>();
  const groups: { split: number; jumps: number[] }[] = [];
  let exact = true;
  const emit = (kind: number, value = 0): number => {
    op.push(kind);
    arg.push(value);
    return op.length - 1;
  };

  for (let i = 0; i < n; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 92 /* \ */ && i + 1 < n) {
      exact = false;
      emit(CHAR, pattern.charCodeAt(++i));
    } else if (c === 42 /* * */) {
      exact = false;
      let end = i;
      while (pattern.charCodeAt(end + 1) === 42) end++;
      emit(end > i ? GLOBSTAR : STAR);
      i = end;
    } else if (c === 63 /* ? */) {
      exact = false;
      emit(ONE);
    } else if (c === 123 /* { */ && isAlternation(i)) {
      exact = false;
      const split = emit(SPLIT);
      splitTargets.set(split, [split + 1]);
      groups.push({ split, jumps: [] });
    } else if (c === 44 /* , */ && isAlternation(commaOwner[i] as number)) {
      const group = groups[groups.length - 1] as { split: number; jumps: number[] };
      const jump = emit(JUMP);
      group.jumps.push(jump);
      splitTargets.get(group.split)?.push(jump + 1);
    } else if (c === 125 /* } */ && closesAlternation[i] === 1) {
      const group = groups.pop() as { split: number; jumps: number[] };
      group.jumps.push(emit(JUMP));
      for (const jump of group.jumps) arg[jump] = op.length;
    } else {
      if (c === 123 || c === 92) exact = false;
      emit(CHAR, c);
    }
  }
  emit(MATCH);

  const targetStart = new Int32Array(op.length + 1);
  const flat: number[] = [];
  for (let s = 0; s < op.length; s++) {
    targetStart[s] = flat.length;
    const t = splitTargets.get(s);
    if (t) flat.push(...t);
  }
  targetStart[op.length] = flat.length;
  return { op: Uint8Array.from(op), arg: Int32Array.from(arg), targetStart, targets: Int32Array.from(flat), exact };
}

const compiledPatterns = new Map<string, Program>();
const MAX_CACHED_PATTERNS = 2000;

function compile(pattern: string): Program {
  let program = compiledPatterns.get(pattern);
  if (!program) {
    program = compileProgram(pattern);
    if (compiledPatterns.size >= MAX_CACHED_PATTERNS) compiledPatterns.clear();
    compiledPatterns.set(pattern, program);
  }
  return program;
}

/**
 * Follows every epsilon move of the active states, in one forward sweep (epsilon moves only go forward), from
 * `lo` to the highest state made active. Returns that highest state.
 */
function close(p: Program, active: Uint8Array, lo: number, hi: number): number {
  const { op, arg, targetStart, targets } = p;
  const reach = (t: number) => {
    active[t] = 1;
    if (t > hi) hi = t;
  };
  for (let s = lo; s <= hi; s++) {
    if (active[s] === 0) continue;
    switch (op[s]) {
      case STAR:
      case GLOBSTAR:
        reach(s + 1);
        break;
      case SPLIT:
        for (let k = targetStart[s] as number; k < (targetStart[s + 1] as number); k++) reach(targets[k] as number);
        break;
      case JUMP:
        reach(arg[s] as number);
        break;
    }
  }
  return hi;
}

/**
 * True when `name` (a branch, tag or file path) matches the glob `pattern` as a whole. Only the range of
 * states that can be active is visited, so a long pattern whose active states stay close together (a long run
 * of alternations) costs little more than a short one.
 */
export function matchGlob(pattern: string, name: string): boolean {
  const p = compile(pattern);
  if (p.exact) return pattern === name;
  const { op, arg } = p;
  const states = op.length;
  let current = new Uint8Array(states);
  let next = new Uint8Array(states);
  current[0] = 1;
  let lo = 0;
  let hi = close(p, current, 0, 0);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    let nextLo = states;
    let nextHi = -1;
    for (let s = lo; s <= hi; s++) {
      if (current[s] === 0) continue;
      current[s] = 0;
      let t: number;
      switch (op[s]) {
        case CHAR:
          if (arg[s] !== c) continue;
          t = s + 1;
          break;
        case ONE:
          if (c === SLASH) continue;
          t = s + 1;
          break;
        case STAR:
          if (c === SLASH) continue;
          t = s;
          break;
        case GLOBSTAR:
          t = s;
          break;
        default:
          continue;
      }
      next[t] = 1;
      if (t < nextLo) nextLo = t;
      if (t > nextHi) nextHi = t;
    }
    if (nextHi < 0) return false;
    lo = nextLo;
    hi = close(p, next, nextLo, nextHi);
    [current, next] = [next, current];
  }
  return current[states - 1] === 1;
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
 * Scores along paths through a program: one (literals, doubleStars, singleStars) per state, and whether the
 * state was reached. Entering a state adds its weight: a literal character 1 literal, a `*` one single star,
 * a `**` one double star. Every path through the program is one way of choosing among its `{a,b}`
 * alternatives, and enters each state of the chosen alternatives exactly once, so a path's score is the
 * specificity of the plain glob those choices spell.
 */
class Scores {
  readonly reached: Uint8Array;
  readonly literals: Int32Array;
  readonly doubleStars: Int32Array;
  readonly singleStars: Int32Array;
  /** The range of states that may be reached. */
  lo: number;
  hi = -1;

  constructor(private readonly p: Program, private readonly preferVague: boolean) {
    const n = p.op.length;
    this.reached = new Uint8Array(n);
    this.literals = new Int32Array(n);
    this.doubleStars = new Int32Array(n);
    this.singleStars = new Int32Array(n);
    this.lo = n;
  }

  clear(): void {
    for (let s = this.lo; s <= this.hi; s++) this.reached[s] = 0;
    this.lo = this.p.op.length;
    this.hi = -1;
  }

  /** Offers state `to` the score of `from` (in `source`) plus `to`'s own weight; keeps the preferred one. */
  offer(source: Scores, from: number, to: number, addWeight = true): void {
    const kind = this.p.op[to];
    const literals = (source.literals[from] as number) + (addWeight && kind === CHAR ? 1 : 0);
    const doubleStars = (source.doubleStars[from] as number) + (addWeight && kind === GLOBSTAR ? 1 : 0);
    const singleStars = (source.singleStars[from] as number) + (addWeight && kind === STAR ? 1 : 0);
    if (this.reached[to] === 1) {
      const order = compareSpecificity(
        { literals, doubleStars, singleStars },
        { literals: this.literals[to] as number, doubleStars: this.doubleStars[to] as number, singleStars: this.singleStars[to] as number },
      );
      if (this.preferVague ? order <= 0 : order >= 0) return;
    }
    this.reached[to] = 1;
    if (to < this.lo) this.lo = to;
    if (to > this.hi) this.hi = to;
    this.literals[to] = literals;
    this.doubleStars[to] = doubleStars;
    this.singleStars[to] = singleStars;
  }

  start(): void {
    const kind = this.p.op[0];
    this.reached[0] = 1;
    this.lo = 0;
    this.hi = 0;
    this.literals[0] = kind === CHAR ? 1 : 0;
    this.doubleStars[0] = kind === GLOBSTAR ? 1 : 0;
    this.singleStars[0] = kind === STAR ? 1 : 0;
  }

  /** Follows the epsilon moves forward (and, with `everyMove`, the character moves too: any path at all). */
  sweep(everyMove: boolean): void {
    const { op, arg, targetStart, targets } = this.p;
    for (let s = this.lo; s <= this.hi; s++) {
      if (this.reached[s] === 0) continue;
      switch (op[s]) {
        case STAR:
        case GLOBSTAR:
          this.offer(this, s, s + 1);
          break;
        case SPLIT:
          for (let k = targetStart[s] as number; k < (targetStart[s + 1] as number); k++) this.offer(this, s, targets[k] as number);
          break;
        case JUMP:
          this.offer(this, s, arg[s] as number);
          break;
        case CHAR:
        case ONE:
          if (everyMove) this.offer(this, s, s + 1);
          break;
      }
    }
  }

  final(): GlobSpecificity | undefined {
    const last = this.p.op.length - 1;
    if (this.reached[last] === 0) return undefined;
    return { literals: this.literals[last] as number, doubleStars: this.doubleStars[last] as number, singleStars: this.singleStars[last] as number };
  }
}

/** The most specific way `p` matches `name` (undefined when it does not), in states × characters steps at most. */
function mostSpecificMatch(p: Program, name: string): GlobSpecificity | undefined {
  const { op, arg } = p;
  let current = new Scores(p, false);
  let next = new Scores(p, false);
  current.start();
  current.sweep(false);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    next.clear();
    for (let s = current.lo; s <= current.hi; s++) {
      if (current.reached[s] === 0) continue;
      const kind = op[s];
      if ((kind === CHAR && arg[s] === c) || (kind === ONE && c !== SLASH)) next.offer(current, s, s + 1);
      else if ((kind === STAR && c !== SLASH) || kind === GLOBSTAR) next.offer(current, s, s, false);
    }
    if (next.hi < 0) return undefined;
    next.sweep(false);
    [current, next] = [next, current];
  }
  return current.final();
}

/** The least specific alternative of `p`, whatever the name. */
function leastSpecific(p: Program): GlobSpecificity {
  const scores = new Scores(p, true);
  scores.start();
  scores.sweep(true);
  return scores.final() ?? { literals: 0, doubleStars: 0, singleStars: 0 };
}

/**
 * The specificity of `pattern`. An alternation counts as the alternative that applies: with `name`, the most
 * specific alternative that matches `name` (`{main,release/*}` for `main` measures as `main`); without a name,
 * or when none matches, its least specific alternative.
 */
export function globSpecificity(pattern: string, name?: string): GlobSpecificity {
  const p = compile(pattern);
  return (name === undefined ? undefined : mostSpecificMatch(p, name)) ?? leastSpecific(p);
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
    const s = mostSpecificMatch(compile(pattern), name);
    if (s === undefined) continue;
    if (!best || compareSpecificity(s, best.s) < 0) best = { pattern, s };
  }
  return best?.pattern;
}

/** The longest glob a pipeline file may use (branch, tag and pull-request keys, changeset and artifact paths). */
export const MAX_GLOB_LENGTH = 1000;
