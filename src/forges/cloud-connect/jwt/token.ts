import { createHmac, createSecretKey, KeyObject, timingSafeEqual } from "node:crypto";

/**
 * Minimal HS256 JSON Web Tokens, as Atlassian Connect uses them. Only HS256 is ever accepted: a token whose
 * header names another algorithm (`none`, RS256, HS512…) is refused before any key is touched.
 */

export interface ConnectClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  iat?: number;
  exp?: number;
  nbf?: number;
  qsh?: string;
  context?: unknown;
  [claim: string]: unknown;
}

export interface DecodedToken {
  header: { alg?: unknown; typ?: unknown; [k: string]: unknown };
  claims: ConnectClaims;
  signingInput: string;
  signature: Buffer;
}

export class TokenFormatError extends Error {}

function b64urlJson(segment: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) throw new TokenFormatError("token segment is not base64url");
  try {
    return JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch {
    throw new TokenFormatError("token segment is not JSON");
  }
}

/** Splits and decodes a token without verifying it (used to find the tenant whose secret verifies it). */
export function decodeUnverified(token: string): DecodedToken {
  const parts = token.split(".");
  if (parts.length !== 3) throw new TokenFormatError("a JWT has three dot-separated parts");
  const header = b64urlJson(parts[0]);
  const claims = b64urlJson(parts[1]);
  if (!header || typeof header !== "object" || Array.isArray(header)) throw new TokenFormatError("the JWT header is not an object");
  if (!claims || typeof claims !== "object" || Array.isArray(claims)) throw new TokenFormatError("the JWT claims are not an object");
  if (!/^[A-Za-z0-9_-]*$/.test(parts[2])) throw new TokenFormatError("the JWT signature is not base64url");
  return {
    header: header as DecodedToken["header"],
    claims: claims as ConnectClaims,
    signingInput: `${parts[0]}.${parts[1]}`,
    signature: Buffer.from(parts[2], "base64url"),
  };
}

/** A key object for a shared secret: build it once per secret and reuse it (cheap HMACs afterwards). */
export function hmacKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, "utf8"));
}

/** True when the token is HS256 and its signature was made with `key`; constant-time comparison. */
export function hasValidHs256Signature(decoded: DecodedToken, key: KeyObject): boolean {
  if (decoded.header.alg !== "HS256") return false;
  const expected = createHmac("sha256", key).update(decoded.signingInput).digest();
  return expected.length === decoded.signature.length && timingSafeEqual(expected, decoded.signature);
}

/** Signs claims with HS256 (used for calls to Bitbucket and by the test stand-ins). */
export function signHs256(claims: ConnectClaims, key: KeyObject | string): string {
  const k = typeof key === "string" ? hmacKey(key) : key;
  const head = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
  const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
  const sig = createHmac("sha256", k).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}
