import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ed25519PublicBlob, generateSshKeyPair, keyComment, publicKeyBlobOf, sshFingerprint } from "../../src/tenants/ssh-key-format";

const hasSshKeygen = (() => {
  try {
    execFileSync("ssh-keygen", ["-?"], { stdio: "ignore" });
    return true;
  } catch (err) {
    return (err as { status?: number }).status !== undefined && (err as { code?: string }).code !== "ENOENT";
  }
})();

describe("SSH key formats", () => {
  // RFC 8032 §7.1, test 1.
  const rfcPublic = Buffer.from("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "hex");

  it("the public key blob is string \"ssh-ed25519\" + string(32-byte key)", () => {
    const blob = ed25519PublicBlob(rfcPublic);
    assert.equal(blob.length, 4 + 11 + 4 + 32);
    assert.equal(blob.toString("base64"), "AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea");
    assert.throws(() => ed25519PublicBlob(Buffer.alloc(31)), /32 bytes/);
  });

  it("a comment never breaks the key line", () => {
    assert.equal(keyComment("acme"), "pipelines@acme");
    assert.equal(keyComment("Acme Corp\n"), "pipelines@Acme-Corp");
    assert.equal(keyComment(""), "pipelines@workspace");
  });

  it("a generated pair: the public line, fingerprint and private key belong together", () => {
    const pair = generateSshKeyPair("pipelines@acme");
    assert.match(pair.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} pipelines@acme$/);
    assert.match(pair.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(pair.fingerprint, sshFingerprint(publicKeyBlobOf(pair.publicKey)));
    assert.match(pair.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n([A-Za-z0-9+/=]{1,70}\n)+-----END OPENSSH PRIVATE KEY-----\n$/);
    // The private key file holds the seed: rebuild a KeyObject from it and check it signs for the public key.
    const body = Buffer.from(pair.privateKey.split("\n").filter((l) => l && !l.startsWith("-----")).join(""), "base64");
    assert.equal(body.subarray(0, 15).toString("binary"), "openssh-key-v1\0");
    const raw = publicKeyBlobOf(pair.publicKey).subarray(19);
    const at = body.indexOf(Buffer.concat([raw, Buffer.from([0, 0, 0, 64])]));
    assert.ok(at > 0, "the private section carries the public key then the 64-byte private key");
    const seed = body.subarray(at + 36, at + 36 + 32);
    const priv = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: seed.toString("base64url"), x: raw.toString("base64url") }, format: "jwk" });
    const pub = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
    const sig = sign(null, Buffer.from("hello"), priv);
    assert.ok(verify(null, Buffer.from("hello"), pub, sig));
    assert.notEqual(generateSshKeyPair("x").publicKey.split(" ")[1], pair.publicKey.split(" ")[1], "every pair is new");
  });

  it("ssh-keygen reads the private key and prints the same public key and fingerprint", function () {
    if (!hasSshKeygen) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssh-key-test-"));
    try {
      const pair = generateSshKeyPair("pipelines@acme");
      const file = path.join(dir, "id_ed25519");
      fs.writeFileSync(file, pair.privateKey, { mode: 0o600 });
      fs.writeFileSync(`${file}.pub`, pair.publicKey + "\n");
      const derived = execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim();
      assert.equal(derived.split(" ").slice(0, 2).join(" "), pair.publicKey.split(" ").slice(0, 2).join(" "));
      const listed = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${file}.pub`], { encoding: "utf8" }).trim();
      assert.equal(listed, `256 ${pair.fingerprint} pipelines@acme (ED25519)`);
      const fromPrivate = execFileSync("ssh-keygen", ["-l", "-f", file], { encoding: "utf8" }).trim();
      assert.equal(fromPrivate, `256 ${pair.fingerprint} pipelines@acme (ED25519)`, "the comment is stored in the private key too");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
