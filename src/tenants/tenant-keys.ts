import type { KeyObject } from "node:crypto";
import { hmacKey } from "../forges/cloud-connect/jwt/token";
import { revealSecret } from "../db/encrypted-fields";
import type { Tenant } from "../db/models";

/**
 * HMAC keys of tenants' shared secrets, built once per stored secret and reused: decrypting the column and
 * building a KeyObject for every request would cost more than the verification itself. Entries are keyed by the
 * sealed value, so a rotated secret never reuses an old key; the cache is bounded.
 */
const MAX_ENTRIES = 10_000;
const cache = new Map<string, KeyObject>();

export function sharedSecretKey(tenant: Tenant): KeyObject | null {
  const sealed = tenant.sharedSecret;
  if (!sealed) return null;
  const cacheKey = `${tenant.id}:${sealed}`;
  let key = cache.get(cacheKey);
  if (!key) {
    const secret = revealSecret(tenant, "sharedSecret");
    if (!secret) return null;
    key = hmacKey(secret);
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(cacheKey, key);
  }
  return key;
}
