import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { MalformedEventError, isFullHash, isSafeRefName, isShortHash } from "../../src/forges/events";

/** Hashes read from the Cloud fixtures (a push head, and a pull request's 12-character source commit). */
const FULL = "141977fedf5cf35aa290ac87d4b5177ac4cd9de1";
const SHORT = "507a576e59b3";

const NOT_STRINGS: unknown[] = [undefined, null, 0, 141977, true, {}, [FULL], new String(FULL), Symbol("x")];

describe("isFullHash", () => {
  it("accepts a 40-character lowercase hex commit id", () => {
    assert.equal(isFullHash(FULL), true);
    assert.equal(isFullHash("0".repeat(40)), true);
  });

  it("rejects anything shorter or longer, Cloud's 12-character short form included", () => {
    for (const s of [SHORT, FULL.slice(0, 39), `${FULL}0`, "a".repeat(64), ""]) assert.equal(isFullHash(s), false, s);
  });

  it("rejects uppercase, non-hex characters and surrounding whitespace or newlines", () => {
    for (const s of [FULL.toUpperCase(), `g${FULL.slice(1)}`, ` ${FULL}`, `${FULL}\n`, `${FULL.slice(0, 20)}\n${FULL.slice(20, 39)}`, `-${FULL.slice(1)}`]) {
      assert.equal(isFullHash(s), false, JSON.stringify(s));
    }
  });

  it("rejects values that are not strings, even a String object holding a hash", () => {
    for (const v of NOT_STRINGS) assert.equal(isFullHash(v), false, String(typeof v));
  });
});

describe("isShortHash", () => {
  it("accepts 12 to 40 lowercase hex characters", () => {
    for (const s of [SHORT, `${SHORT}a`, FULL, FULL.slice(0, 12)]) assert.equal(isShortHash(s), true, s);
  });

  it("rejects 11 or 41 characters, uppercase, non-hex, options and whitespace", () => {
    for (const s of [SHORT.slice(0, 11), `${FULL}a`, SHORT.toUpperCase(), "507a576e59bz", "--507a576e59b3", `${SHORT}\n`, ` ${SHORT}`, ""]) {
      assert.equal(isShortHash(s), false, JSON.stringify(s));
    }
  });

  it("rejects values that are not strings", () => {
    for (const v of NOT_STRINGS) assert.equal(isShortHash(v), false, String(typeof v));
  });
});

describe("isSafeRefName", () => {
  it("accepts the branch and tag names of the real Cloud fixtures", () => {
    for (const name of ["master", "develop", "main", "upgrades", "jerry", "feature/x", "feature/webhook", "test-tag", "feats-of-strength"]) {
      assert.equal(isSafeRefName(name), true, name);
    }
  });

  it("accepts ordinary names that git accepts: slashes, dots, dashes inside, @, non-ASCII", () => {
    const names = ["release/1.0", "v1.0.0", "hotfix_1", "feature/login-v2", "a-", "a/b/c/d", "user@host", "foo/@", "a.b", "x.lockfile", "lock", "é", "日本語/ブランチ", "🚀", "a{b}", "100%", "HEAD"];
    for (const name of names) assert.equal(isSafeRefName(name), true, name);
  });

  describe("rejects names built to attack a command line", () => {
    it('branch "--upload-pack=touch pwned": would be read by git as an option', () => {
      assert.equal(isSafeRefName("--upload-pack=touch pwned"), false);
      assert.equal(isSafeRefName("--upload-pack=touch"), false, "rejected for its leading dash alone, space or not");
    });

    it('branch "$(touch pwned2)": git forbids the space in it', () => {
      assert.equal(isSafeRefName("$(touch pwned2)"), false);
    });

    it('tag ";touch pwned3": git forbids the space in it', () => {
      assert.equal(isSafeRefName(";touch pwned3"), false);
    });

    it("any leading dash, however short", () => {
      for (const name of ["-", "-f", "-x/y", "--", "--help"]) assert.equal(isSafeRefName(name), false, name);
    });
  });

  describe("applies each rule of git check-ref-format to the short name", () => {
    const rules: [rule: string, names: string[]][] = [
      ["not empty, and not the name @", ["", "@"]],
      ["no leading or trailing slash, no empty component", ["/main", "main/", "a//b", "/", "//"]],
      ["no component that starts with a dot", [".hidden", "feature/.x", "./a", "a/./b", "a/."]],
      ["no trailing dot", ["main.", "v1."]],
      ["no component that ends with .lock", ["main.lock", "a.lock/b", "a/b.lock", ".lock"]],
      ["no ..", ["a..b", "..", "../etc/passwd", "a/../b"]],
      ["no @{", ["a@{1}", "@{-1}", "main@{upstream}"]],
      ["no space", ["a b", " main", "main "]],
      ["no ASCII control character or DEL", ["a\u0000b", "a\tb", "a\nb", "main\r", "\u001b[31mred", "a\u007fb"]],
      ["none of ~ ^ : ? * [ \\", ["a~1", "v1.0^{}", "HEAD^", "a:b", "what?", "feature/*", "a[b", "a\\b"]],
      ["no lone UTF-16 surrogate (a string with no UTF-8 form)", ["a\uD800", "\uDC00b", "x\uDE80y"]],
    ];
    for (const [rule, names] of rules) {
      it(rule, () => {
        for (const name of names) assert.equal(isSafeRefName(name), false, JSON.stringify(name));
      });
    }

    it("a surrogate pair (an emoji) is fine; only a lone half is refused", () => {
      assert.equal(isSafeRefName("\uD83D\uDE80"), true);
      assert.equal(isSafeRefName("\uD83D"), false);
    });
  });

  it("rejects values that are not strings", () => {
    for (const v of NOT_STRINGS) assert.equal(isSafeRefName(v), false, String(typeof v));
  });

  it("agrees with git check-ref-format itself (never accepts a name git would refuse)", function () {
    const probe = spawnSync("git", ["--version"], { encoding: "utf8" });
    if (probe.status !== 0) this.skip();
    this.timeout(60_000);
    // NUL cannot be passed as an argument, and a lone surrogate would reach git as U+FFFD: both are covered above.
    const names = [
      "main", "feature/x", "release/1.0", "v1.0.0", "a-", "a.b", "é", "🚀", "foo/@", "a{b}", "$(touch)", "`id`", "a;b", "a|b", "HEAD",
      "--upload-pack=touch pwned", "$(touch pwned2)", ";touch pwned3", "-f",
      "@", "/main", "main/", "a//b", ".hidden", "feature/.x", "main.", "main.lock", "a.lock/b", "a..b", "a@{1}",
      "a b", "a\tb", "a\nb", "a\u007fb", "a~1", "v1^", "a:b", "a?", "a*", "a[b", "a\\b", "a/./b", "x.lockfile",
    ];
    for (const name of names) {
      const git = spawnSync("git", ["check-ref-format", `refs/heads/${name}`]);
      // git checks the full ref; a short name additionally must not look like an option or be `@` (HEAD).
      const gitAccepts = git.status === 0 && !name.startsWith("-") && name !== "@";
      assert.equal(isSafeRefName(name), gitAccepts, `${JSON.stringify(name)}: git ${git.status === 0 ? "accepts" : "refuses"} refs/heads/<name>`);
    }
  });
});

describe("MalformedEventError", () => {
  it("is an Error with its own name and the message it was given", () => {
    const err = new MalformedEventError("repo:push has no push.changes");
    assert.ok(err instanceof Error);
    assert.equal(err.name, "MalformedEventError");
    assert.equal(err.message, "repo:push has no push.changes");
    assert.match(String(err), /^MalformedEventError: repo:push has no push\.changes$/);
  });
});
