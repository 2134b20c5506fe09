import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { hubSignature, verifyHubSignature } from "../../src/intake/verify-hub-signature";
import { FIXTURES } from "../support/install";

/** The signed vector from neticdk/go-bitbucket: these exact bytes, secret "0123456789abcdef". */
const BODY = fs.readFileSync(path.join(FIXTURES, "bitbucket/server/signed/repo_refs_changed_signed.json"));
const SECRET = "0123456789abcdef";
const SIGNATURE = "sha256=d82c0422a140fc24335536d9450538aeaa978dbc741262a161ee12b99a6bf05d";

describe("X-Hub-Signature (Bitbucket Server webhooks)", () => {
  it("the signed vector verifies, and our signer produces the same header", () => {
    assert.deepEqual(verifyHubSignature(BODY, SIGNATURE, SECRET), { ok: true });
    assert.equal(hubSignature(BODY, SECRET), SIGNATURE);
    assert.deepEqual(verifyHubSignature(BODY, SIGNATURE.toUpperCase().replace("SHA256=", "sha256="), SECRET), { ok: true });
  });

  const refused: [string, Buffer, string | undefined, string][] = [
    ["no header", BODY, undefined, SECRET],
    ["empty header", BODY, "", SECRET],
    ["bare hex, no algorithm", BODY, SIGNATURE.slice(7), SECRET],
    ["another algorithm (sha1)", BODY, `sha1=${"a".repeat(40)}`, SECRET],
    ["sha512 label on the right digest", BODY, SIGNATURE.replace("sha256", "sha512"), SECRET],
    ["truncated digest", BODY, SIGNATURE.slice(0, -2), SECRET],
    ["non-hex digest", BODY, `sha256=${"g".repeat(64)}`, SECRET],
    ["wrong secret", BODY, SIGNATURE, "0123456789abcdeX"],
    ["one byte of the body changed", Buffer.concat([BODY.subarray(0, 10), Buffer.from("X"), BODY.subarray(11)]), SIGNATURE, SECRET],
    ["body re-serialised (whitespace lost)", Buffer.from(JSON.stringify(JSON.parse(BODY.toString("utf8")))), SIGNATURE, SECRET],
    ["a trailing newline added", Buffer.concat([BODY, Buffer.from("\n")]), SIGNATURE, SECRET],
    ["digest of another body", BODY, hubSignature("{}", SECRET), SECRET],
  ];
  for (const [what, body, header, secret] of refused) {
    it(`refuses: ${what}`, () => {
      const v = verifyHubSignature(body, header, secret);
      assert.equal(v.ok, false);
    });
  }
});
