import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const VERSION = "v1";

/**
 * AES-256-GCM for secret columns. A sealed value is `v1.<iv>.<tag>.<ciphertext>` (base64url), and is bound to
 * the column it belongs to (`context`, e.g. "tenants.shared_secret"), so a ciphertext copied into another
 * column does not decrypt.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error("SecretBox needs a 32-byte key");
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [VERSION, iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ct.toString("base64url")].join(".");
  }

  open(sealed: string, context: string): string {
    const [version, iv, tag, ct] = sealed.split(".");
    if (version !== VERSION || iv === undefined || tag === undefined || ct === undefined) {
      throw new Error(`cannot decrypt ${context}: not a sealed value`);
    }
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
    } catch {
      throw new Error(`cannot decrypt ${context}: wrong PIPELINES_SECRET_KEY or tampered value`);
    }
  }
}
