import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";

/**
 * Ed25519 keys in OpenSSH's formats, written here rather than by shelling out to ssh-keygen:
 * - the public key blob (RFC 4253 §6.6 wire encoding): string "ssh-ed25519" + string(32-byte key);
 * - the public key line: `ssh-ed25519 <base64 blob> <comment>`;
 * - the fingerprint: `SHA256:` + unpadded base64 of sha256(blob), as `ssh-keygen -l` prints it;
 * - the private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`, unencrypted openssh-key-v1), which ssh and git
 *   read directly.
 */

const KEY_TYPE = "ssh-ed25519";

export interface SshKeyPair {
  /** `ssh-ed25519 AAAA… <comment>`. */
  publicKey: string;
  fingerprint: string;
  /** OpenSSH private key file. A secret: seal it before it is stored, never render or log it. */
  privateKey: string;
}

/** An SSH wire-format string: uint32 length, then the bytes. */
function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The public key blob of a raw 32-byte Ed25519 public key. */
export function ed25519PublicBlob(rawPublicKey: Buffer): Buffer {
  if (rawPublicKey.length !== 32) throw new Error(`an Ed25519 public key is 32 bytes, not ${rawPublicKey.length}`);
  return Buffer.concat([sshString(KEY_TYPE), sshString(rawPublicKey)]);
}

/** `SHA256:…` of a public key blob (unpadded base64). */
export function sshFingerprint(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** The blob of an OpenSSH public key line (its second field). */
export function publicKeyBlobOf(line: string): Buffer {
  const field = line.trim().split(/\s+/)[1];
  if (!field) throw new Error("not an OpenSSH public key line");
  return Buffer.from(field, "base64");
}

/** A comment safe on a key line: no whitespace or control characters. */
export function keyComment(workspace: string): string {
  const name = workspace.replace(/[\s\p{Cc}]+/gu, "-").replace(/^-+|-+$/g, "") || "workspace";
  return `pipelines@${name}`;
}

function rawKeys(privateKey: KeyObject, publicKey: KeyObject): { seed: Buffer; pub: Buffer } {
  const pub = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
  const seed = Buffer.from(privateKey.export({ format: "jwk" }).d as string, "base64url");
  return { seed, pub };
}

/** openssh-key-v1, unencrypted (cipher and kdf "none"), one key, padded to 8 bytes, base64 in 70-column lines. */
function openSshPrivateKey(seed: Buffer, pub: Buffer, comment: string): string {
  const blob = ed25519PublicBlob(pub);
  const check = randomBytes(4);
  let section = Buffer.concat([check, check, sshString(KEY_TYPE), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (section.length + pad.length) % 8 !== 0; i++) pad.push(i);
  section = Buffer.concat([section, Buffer.from(pad)]);
  const body = Buffer.concat([Buffer.from("openssh-key-v1\0", "binary"), sshString("none"), sshString("none"), sshString(""), uint32(1), sshString(blob), sshString(section)]);
  const b64 = body.toString("base64").match(/.{1,70}/g) ?? [];
  return ["-----BEGIN OPENSSH PRIVATE KEY-----", ...b64, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n");
}

/** A fresh Ed25519 key pair in OpenSSH formats, the public key line ending in `comment`. */
export function generateSshKeyPair(comment: string): SshKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const { seed, pub } = rawKeys(privateKey, publicKey);
  const blob = ed25519PublicBlob(pub);
  return {
    publicKey: `${KEY_TYPE} ${blob.toString("base64")} ${comment}`,
    fingerprint: sshFingerprint(blob),
    privateKey: openSshPrivateKey(seed, pub, comment),
  };
}
