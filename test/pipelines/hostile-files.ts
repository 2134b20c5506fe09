/**
 * Pipeline files crafted to stall a parser, matcher or validator: each was measured against the service before
 * it read files within limits (issue 15). Shared by the tests (which bound their cost) and the `pipelines` bench
 * (which measures it).
 */

/** The script line count of the aliased step: a 1,000-line script. */
const SCRIPT_LINES = 1000;

/**
 * An anchored step with a 1,000-line script, used by `- step: *s` until the file is about `kilobytes` long: the
 * file is small, but each alias stands for the whole step (2,000 uses at 32 KB were 2 million nodes: 12.7 s).
 */
export function aliasAmplification(kilobytes: number): { text: string; firstAliasLine: number; uses: number } {
  const head = `definitions:\n  steps:\n    - step: &s\n        name: Amplified\n        script: [${Array.from({ length: SCRIPT_LINES }, () => "e").join(",")}]\npipelines:\n  default:\n`;
  const use = "    - step: *s\n";
  const uses = Math.max(1, Math.floor((kilobytes * 1024 - head.length) / use.length));
  return { text: head + use.repeat(uses), firstAliasLine: head.split("\n").length, uses };
}

/** A branch pattern of `stars` times `*a` then `*b`: exponential for a backtracking matcher on a branch of `a`s. */
export function starPattern(stars: number): string {
  return `${"*a".repeat(stars)}*b`;
}

/** A file whose only branch pipeline is keyed by `pattern`, written as a quoted explicit key (no YAML key length limit). */
export function fileWithBranchPattern(pattern: string): string {
  return `pipelines:\n  branches:\n    ? ${JSON.stringify(pattern)}\n    : - step:\n          script: [echo matched]\n`;
}

/** A 32,768-character glob of alternations and stars (the old matcher threw "Regular expression too large"). */
export function hugeGlob(): string {
  const pattern = "{a,b}".repeat(6553) + "***";
  return pattern;
}

/** `levels` nested flow lists as the default pipeline: `[[[…]]]`. */
export function deepFlowNesting(levels: number): string {
  return `pipelines:\n  default: ${"[".repeat(levels)}${"]".repeat(levels)}\n`;
}

/** `levels` nested block lists in one line (`- - - … x`), inside a step's script. */
export function deepBlockNesting(levels: number): string {
  return `pipelines:\n  default:\n    - step:\n        script:\n          ${"- ".repeat(levels)}x\n`;
}

/** "Billion laughs": ten levels of aliases, each standing for ten of the level below. */
export function billionLaughs(): string {
  const lines = ["definitions:", "  laughs:", "    l0: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]"];
  for (let i = 1; i <= 9; i++) lines.push(`    l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(", ")}]`);
  return `${lines.join("\n")}\npipelines:\n  default:\n    - step:\n        script: [echo laughing]\n`;
}

/** A merge that includes the mapping it is written in (`<<: *x` inside `&x`). */
export function mergeCycle(): string {
  return "definitions:\n  steps:\n    - step: &x\n        name: Loop\n        <<: *x\n        script: [a]\npipelines:\n  default:\n    - step: *x\n";
}
