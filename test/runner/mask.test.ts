import assert from "node:assert/strict";
import { createMasker, MASK, MIN_SECRET_LENGTH } from "../../src/runner/mask";

const SECRET = "s3cr3t-Value!";

function maskAll(secrets: string[], ...chunks: string[]): string {
  const m = createMasker(secrets);
  return chunks.map((c) => m.push(c)).join("") + m.flush();
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");

describe("createMasker", () => {
  it("masks a plain secret wherever it occurs", () => {
    assert.equal(maskAll([SECRET], `token=${SECRET}\n${SECRET}${SECRET}\n`), `token=${MASK}\n${MASK}${MASK}\n`);
  });

  it("passes text through unchanged when there is nothing to mask", () => {
    assert.equal(maskAll([], "hello\n"), "hello\n");
    assert.equal(maskAll([SECRET], "hello\n"), "hello\n");
  });

  it("masks the whole base64 form: standard and url-safe, with and without padding", () => {
    const secret = "a?b>c~d"; // its base64 has + and /, and padding
    const std = b64(secret);
    assert.match(std, /[+/].*=$/);
    const url = std.replace(/\+/g, "-").replace(/\//g, "_");
    for (const form of [std, std.replace(/=+$/, ""), url, url.replace(/=+$/, "")]) {
      assert.equal(maskAll([secret], `x ${form} y`), `x ${MASK} y`, form);
    }
  });

  it("masks a secret's base64 inside a longer base64 text, at each of the 3 byte alignments", () => {
    for (let prefix = 0; prefix < 6; prefix++) {
      const encoded = b64(`${"u".repeat(prefix)}:${SECRET}:rest-of-the-data`);
      const masked = maskAll([SECRET], encoded);
      assert.ok(masked.includes(MASK), `prefix ${prefix}: ${masked}`);
      // Every base64 character fully determined by the secret's bytes is hidden: at most 2 partial ones remain.
      const hidden = encoded.length - (masked.length - MASK.length);
      assert.ok(hidden >= Math.floor((SECRET.length * 8) / 6) - 2, `prefix ${prefix}: only ${hidden} characters hidden`);
    }
  });

  it("masks the URL-encoded form", () => {
    const secret = "p@ss w/rd&x=1";
    const encoded = encodeURIComponent(secret);
    assert.equal(maskAll([secret], `https://me:${encoded}@example.org/`), `https://me:${MASK}@example.org/`);
    assert.equal(maskAll([secret], `q=${encoded.toLowerCase().replace("%20", "+")}`), `q=${MASK}`);
  });

  it("masks occurrences split across two chunks at every position", () => {
    const text = `a ${SECRET} b ${b64(SECRET)} c ${encodeURIComponent("p@ss w/rd")} d ${b64(`xy${SECRET}`)} e`;
    const secrets = [SECRET, "p@ss w/rd"];
    const expected = maskAll(secrets, text);
    assert.ok(!expected.includes(SECRET) && !expected.includes("rd") && !expected.includes(b64(SECRET).slice(0, 12)));
    for (let i = 0; i <= text.length; i++) {
      assert.equal(maskAll(secrets, text.slice(0, i), text.slice(i)), expected, `split at ${i}`);
      for (let j = i; j <= Math.min(text.length, i + 20); j++) {
        assert.equal(maskAll(secrets, text.slice(0, i), text.slice(i, j), text.slice(j)), expected, `split at ${i}, ${j}`);
      }
    }
    assert.equal(maskAll(secrets, ...text.split("")), expected, "one character at a time");
  });

  it("holds back only what could still become a secret, at most the longest variant's length - 1", () => {
    const m = createMasker([SECRET]);
    assert.equal(m.push("no secret here\n"), "no secret here\n");
    assert.equal(m.push(`partial ${SECRET.slice(0, 5)}`), "partial ");
    assert.equal(m.push(SECRET.slice(5) + " done"), `${MASK} done`);
    assert.equal(m.push(SECRET.slice(0, -1)), "");
    assert.equal(m.flush(), SECRET.slice(0, -1), "flush releases the held text");
    assert.equal(m.flush(), "");
  });

  it("masks several secrets, the longest first when one contains another", () => {
    const out = maskAll(["abcd1234", "abcd1234efgh", "other-secret"], "x abcd1234efgh y abcd1234 z other-secret");
    assert.equal(out, `x ${MASK} y ${MASK} z ${MASK}`);
  });

  it(`does not mask secrets shorter than ${MIN_SECRET_LENGTH} characters (or empty ones)`, () => {
    assert.equal(maskAll(["abc", "", "1"], "abc 1 yes"), "abc 1 yes");
    assert.equal(maskAll(["abcd"], "abc abcd"), `abc ${MASK}`);
  });

  it("keeps multi-byte characters intact around a secret", () => {
    const secret = "mötley-crüe-🎸";
    const text = `→ ${secret} ←`;
    for (let i = 0; i <= text.length; i++) {
      assert.equal(maskAll([secret], text.slice(0, i), text.slice(i)), `→ ${MASK} ←`);
    }
  });
});
