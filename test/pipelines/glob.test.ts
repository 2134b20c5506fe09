import assert from "node:assert/strict";
import {
  bestMatchingPattern,
  compareSpecificity,
  globSpecificity,
  isExactPattern,
  matchGlob,
} from "../../src/pipelines";
import * as reference from "./glob-reference";

describe("matchGlob", () => {
  const cases: [pattern: string, name: string, matches: boolean][] = [
    // `*` stays within one path segment
    ["feature/*", "feature/login", true],
    ["feature/*", "feature/login/v2", false],
    ["feature/*", "feature/", true],
    ["feature/*", "feature", false],
    ["*", "main", true],
    ["*", "feature/login", false],
    ["*/feature", "team/feature", true],
    ["*/feature", "a/b/feature", false],
    // `**` crosses `/`
    ["**", "main", true],
    ["**", "feature/login/v2", true],
    ["prod/**", "prod/eu/1", true],
    ["prod/**", "production", false],
    ["**/feature", "a/b/feature", true],
    // a star in the middle of a name (fixture 03)
    ["dspace-cris-20*_02_x", "dspace-cris-2025_02_x", true],
    ["dspace-cris-20*_02_x", "dspace-cris-20/25_02_x", false],
    // `?` is one character, never `/`
    ["v?", "v1", true],
    ["v?", "v10", false],
    ["a?b", "a/b", false],
    // `{a,b}` alternation, with globs inside, and nested (fixtures 02 and 05)
    ["{foo,bar}", "foo", true],
    ["{foo,bar}", "bar", true],
    ["{foo,bar}", "foobar", false],
    ["{feature/*,hotfix/*,develop,main}", "hotfix/urgent", true],
    ["{feature/*,hotfix/*,develop,main}", "develop", true],
    ["{feature/*,hotfix/*,develop,main}", "release/1", false],
    ["release/{v1,v2/{a,b}}", "release/v2/b", true],
    ["release/{v1,v2/{a,b}}", "release/v2/c", false],
    ["{,pre-}release", "release", true],
    ["{,pre-}release", "pre-release", true],
    // braces without a top-level comma, and unbalanced ones, are literal
    ["{x}", "{x}", true],
    ["{x}", "x", false],
    ["a{b", "a{b", true],
    // regular-expression characters are literal
    ["v1.0.0", "v1.0.0", true],
    ["v1.0.0", "v1x0x0", false],
    ["a+b(c)|[d]^$", "a+b(c)|[d]^$", true],
    // a backslash escapes
    ["a\\*b", "a*b", true],
    ["a\\*b", "axb", false],
    // the whole name must match, case-sensitively
    ["main", "main2", false],
    ["main", "xmain", false],
    ["Main", "main", false],
    ["", "", true],
    ["", "a", false],
  ];
  for (const [pattern, name, matches] of cases) {
    it(`${JSON.stringify(pattern)} ${matches ? "matches" : "does not match"} ${JSON.stringify(name)}`, () => {
      assert.equal(matchGlob(pattern, name), matches);
    });
  }
});

describe("isExactPattern", () => {
  it("is true only for names without glob syntax", () => {
    assert.equal(isExactPattern("feature/bb-123-fix-links"), true);
    assert.equal(isExactPattern("v1.0.0"), true);
    assert.equal(isExactPattern("feature/*"), false);
    assert.equal(isExactPattern("v?"), false);
    assert.equal(isExactPattern("{foo,bar}"), false);
    assert.equal(isExactPattern("a\\*"), false);
  });
});

describe("globSpecificity", () => {
  it("counts literal characters, `**` and `*`", () => {
    assert.deepEqual(globSpecificity("feature/*"), { literals: 8, doubleStars: 0, singleStars: 1 });
    assert.deepEqual(globSpecificity("**"), { literals: 0, doubleStars: 1, singleStars: 0 });
    assert.deepEqual(globSpecificity("*/feature"), { literals: 8, doubleStars: 0, singleStars: 1 });
    assert.deepEqual(globSpecificity("v?.?"), { literals: 2, doubleStars: 0, singleStars: 0 });
    assert.deepEqual(globSpecificity("prod/**/x*"), { literals: 7, doubleStars: 1, singleStars: 1 });
  });

  it("measures an alternation by the alternative that matches the name, else by its least specific one", () => {
    const pattern = "{feature/*,hotfix/*,develop,main}";
    assert.deepEqual(globSpecificity(pattern, "develop"), { literals: 7, doubleStars: 0, singleStars: 0 });
    assert.deepEqual(globSpecificity(pattern, "hotfix/x"), { literals: 7, doubleStars: 0, singleStars: 1 });
    assert.deepEqual(globSpecificity(pattern), { literals: 4, doubleStars: 0, singleStars: 0 });
  });
});

describe("compareSpecificity", () => {
  const order = (patterns: string[]) => [...patterns].sort((a, b) => compareSpecificity(globSpecificity(a), globSpecificity(b)));

  it("puts more literal characters first", () => {
    assert.deepEqual(order(["**", "release/*", "release/v1.*"]), ["release/v1.*", "release/*", "**"]);
  });

  it("on equal literals, puts fewer `**` first, then fewer `*`", () => {
    assert.deepEqual(order(["**", "*"]), ["*", "**"]);
    assert.deepEqual(order(["a/**", "a/*"]), ["a/*", "a/**"]);
    assert.deepEqual(order(["v*.*", "v?.?"]), ["v?.?", "v*.*"]);
  });

  it("calls globs with the same counts equally specific", () => {
    assert.equal(compareSpecificity(globSpecificity("feature/*"), globSpecificity("*/feature")), 0);
  });
});

describe("bestMatchingPattern", () => {
  it("prefers an exact name over any glob, wherever it is declared", () => {
    assert.equal(bestMatchingPattern(["feature/bb-123-*", "feature/bb-123-fix-links"], "feature/bb-123-fix-links"), "feature/bb-123-fix-links");
  });

  it("prefers the most specific glob", () => {
    assert.equal(bestMatchingPattern(["**", "release/*", "release/v1.*"], "release/v1.2"), "release/v1.*");
    assert.equal(bestMatchingPattern(["**", "*"], "main"), "*");
  });

  it("prefers the glob declared first when they are equally specific", () => {
    assert.equal(bestMatchingPattern(["feature/*", "*/feature"], "feature/feature"), "feature/*");
    assert.equal(bestMatchingPattern(["*/feature", "feature/*"], "feature/feature"), "*/feature");
  });

  it("ignores exact names that differ and globs that do not match", () => {
    assert.equal(bestMatchingPattern(["main", "feature/*"], "develop"), undefined);
    assert.equal(bestMatchingPattern([], "main"), undefined);
  });

  it("ranks an alternation by the alternative that matched", () => {
    // `{main,x/*}` applies to `main` through its literal alternative (4 literals), beating `m*` (1 literal).
    assert.equal(bestMatchingPattern(["m*", "{main,x/*}"], "main"), "{main,x/*}");
  });
});

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomText(next: () => number, alphabet: string, maxLength: number): string {
  const length = Math.floor(next() * (maxLength + 1));
  let text = "";
  for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)];
  return text;
}

describe("the glob automaton", () => {
  it("agrees with the regular-expression matcher it replaced on 30,000 random small patterns and names", () => {
    const next = random(20261124);
    for (let i = 0; i < 30_000; i++) {
      const pattern = randomText(next, "ab/*?{},\\.", 10);
      const name = randomText(next, "ab/.{},*", 8);
      const expected = reference.match(pattern, name);
      assert.equal(matchGlob(pattern, name), expected, `case ${i}: ${JSON.stringify(pattern)} against ${JSON.stringify(name)}`);
      assert.deepEqual(globSpecificity(pattern, name), reference.specificity(pattern, name), `case ${i}: specificity of ${JSON.stringify(pattern)} for ${JSON.stringify(name)}`);
    }
  });

  it("agrees on names the random patterns are likely to match", () => {
    const next = random(7);
    for (let i = 0; i < 5_000; i++) {
      const pattern = randomText(next, "a*{,}?", 12);
      // Names made of the pattern's own characters match far more often than random ones.
      const name = randomText(next, "aaa/", 10);
      assert.equal(matchGlob(pattern, name), reference.match(pattern, name), `${JSON.stringify(pattern)} against ${JSON.stringify(name)}`);
      assert.deepEqual(globSpecificity(pattern), reference.specificity(pattern), JSON.stringify(pattern));
    }
  });

  /** Runs `work` and fails if it took longer than `ms` (a generous bound, not a benchmark). */
  function within<T>(ms: number, work: () => T): T {
    const started = performance.now();
    const result = work();
    const took = performance.now() - started;
    assert.ok(took < ms, `took ${took.toFixed(0)} ms (bound ${ms} ms)`);
    return result;
  }

  it("matches star patterns that make a backtracking matcher explode, at once", () => {
    const branch = "a".repeat(30);
    // The old matcher took about 5 s for 13 `*a`, four times more per extra `*a`.
    assert.equal(within(200, () => matchGlob(`${"*a".repeat(13)}*b`, branch)), false);
    assert.equal(within(200, () => matchGlob(`${"*a".repeat(16)}*b`, "a".repeat(40))), false);
    assert.equal(within(200, () => matchGlob(`${"*a".repeat(64)}*b`, "a".repeat(255))), false);
    assert.equal(within(200, () => matchGlob(`${"*a".repeat(16)}*`, "a".repeat(40))), true);
    assert.equal(within(200, () => matchGlob(`${"**a".repeat(16)}**b`, `${"a/".repeat(100)}c`)), false);
    assert.equal(within(200, () => bestMatchingPattern([`${"*a".repeat(16)}*b`, `${"*a".repeat(16)}*`], "a".repeat(40))), `${"*a".repeat(16)}*`);
  });

  it("matches a 32,768-character glob without a regular expression (the old one threw 'Regular expression too large')", () => {
    const pattern = "{a,b}".repeat(6553) + "***";
    assert.equal(pattern.length, 32_768);
    assert.equal(within(2000, () => matchGlob(pattern, "a".repeat(255))), false);
    assert.equal(within(2000, () => matchGlob(pattern, "ab".repeat(3276) + "a/x")), true);
    assert.deepEqual(within(2000, () => globSpecificity(pattern)), { literals: 6553, doubleStars: 1, singleStars: 0 });
  });

  it("compiles deeply nested alternations without recursion", () => {
    const pattern = "{a,".repeat(10_000) + "b" + "}".repeat(10_000);
    assert.equal(within(2000, () => matchGlob(pattern, "b")), true);
    assert.equal(matchGlob(pattern, "a"), true);
    assert.equal(matchGlob(pattern, "ab"), false);
    assert.deepEqual(globSpecificity(pattern, "b"), { literals: 1, doubleStars: 0, singleStars: 0 });
  });
});
