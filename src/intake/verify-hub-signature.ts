import { createHmac, timingSafeEqual } from "node:crypto";

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/**
 * Whether `header` (`X-Hub-Signature`) is `sha256=<hex>` of the HMAC-SHA256 of `rawBody` under `secret`, compared
 * in constant time. The reason when it is not: missing, malformed or another algorithm, or not matching.
 */
export function verifyHubSignature(rawBody: Buffer, header: string | undefined, secret: string): { ok: true } | { ok: false; reason: string } {
  if (!header) return { ok: false, reason: "the X-Hub-Signature header is missing" };
  const m = SIGNATURE.exec(header.trim());
  if (!m) return { ok: false, reason: "the X-Hub-Signature header is not sha256=<64 hex characters>" };
  const expected = createHmac("sha256", secret).update(rawBody).digest();
  const given = Buffer.from(m[1], "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "the X-Hub-Signature does not match the secret stored for this webhook" };
  }
  return { ok: true };
}

/** `sha256=<hex>`, as Bitbucket Server signs a delivery (the stand-in's sender uses it too). */
export function hubSignature(rawBody: Buffer | string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(rawBody).digest("hex")}`;
}
