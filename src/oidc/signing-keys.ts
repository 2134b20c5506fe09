import { createPrivateKey, type KeyObject } from "node:crypto";
import { Op, UniqueConstraintError } from "sequelize";
import { revealSecret } from "../db/encrypted-fields";
import type { Models, OidcSigningKey } from "../db/models";
import { generateRsaKeyPair, type RsaPublicJwk } from "./rsa-key";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/**
 * How a tenant's signing keys follow one another.
 * - A key signs for `rotateAfterMs` (30 days): short enough that a key is not kept for years, long enough that
 *   the JWKS holds one or two keys and relying parties rarely see a new one.
 * - Its successor is published `prepublishMs` (1 day) before it signs, so a relying party that caches the JWKS
 *   (for up to a day, as some do, without refetching on an unknown `kid`) already knows it.
 * - A token lives at most `maxTokenLifetimeMs` (60 minutes); a key stays in the JWKS until its successor has signed
 *   for that long plus `leewayMs` (5 minutes of clock skew), i.e. until every token it signed has expired. Then it
 *   is deleted, private half included.
 */
export const KEY_POLICY = {
  rotateAfterMs: 30 * DAY,
  prepublishMs: DAY,
  maxTokenLifetimeMs: 60 * MINUTE,
  leewayMs: 5 * MINUTE,
} as const;

export type KeyPolicy = typeof KEY_POLICY;

/** A key as the JWKS shows it. */
export interface PublishedKey {
  kid: string;
  jwk: RsaPublicJwk;
}

/** The key new tokens are signed with now. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
}

/** Key generation in progress in this process, per database and tenant: concurrent callers share one new key. */
const pendingByDatabase = new WeakMap<Models, Map<string, Promise<OidcSigningKey>>>();

/**
 * The key to sign a tenant's tokens with at `now`, generating the first one on first use. When the current key is
 * due to be replaced within a day and has no successor yet, the successor is generated and published now; it starts
 * signing when the current key is `rotateAfterMs` old (or a day from now, if that has passed already, so that it
 * is published a day before it signs). Keys whose tokens have all expired are deleted.
 */
export async function signingKey(models: Models, tenantId: number, now: Date, policy: KeyPolicy = KEY_POLICY): Promise<SigningKey> {
  let keys = await keysOf(models, tenantId);
  if (keys.length === 0) {
    await createKey(models, tenantId, 1, now, now);
    keys = await keysOf(models, tenantId);
  }
  const current = currentOf(keys, now);
  const latest = keys[keys.length - 1];
  if (latest === current && now.getTime() >= current.activatesAt.getTime() + policy.rotateAfterMs - policy.prepublishMs) {
    const activatesAt = new Date(Math.max(current.activatesAt.getTime() + policy.rotateAfterMs, now.getTime() + policy.prepublishMs));
    await createKey(models, tenantId, latest.generation + 1, now, activatesAt);
  }
  const retired = keys.filter((k) => isRetired(k, keys, now, policy)).map((k) => k.id);
  if (retired.length > 0) await models.OidcSigningKey.destroy({ where: { id: { [Op.in]: retired }, tenantId } });
  return { kid: current.kid, privateKey: privateKeyOf(current) };
}

/** The public keys a tenant's JWKS shows at `now`: published, and not yet retired (newest first). */
export async function publishedKeys(models: Models, tenantId: number, now: Date, policy: KeyPolicy = KEY_POLICY): Promise<PublishedKey[]> {
  const keys = await keysOf(models, tenantId);
  return keys
    .filter((k) => k.publishedAt.getTime() <= now.getTime() && !isRetired(k, keys, now, policy))
    .reverse()
    .map((k) => ({ kid: k.kid, jwk: JSON.parse(k.publicJwk) as RsaPublicJwk }));
}

function keysOf(models: Models, tenantId: number): Promise<OidcSigningKey[]> {
  return models.OidcSigningKey.findAll({ where: { tenantId }, order: [["generation", "ASC"]] });
}

/** The newest key that has started signing (the first one, should the clock be before every activation). */
function currentOf(keys: OidcSigningKey[], now: Date): OidcSigningKey {
  let current = keys[0];
  for (const k of keys) if (k.activatesAt.getTime() <= now.getTime()) current = k;
  return current;
}

/** Retired: its successor has signed for longer than any token lives (plus leeway), so no token of it is valid. */
function isRetired(key: OidcSigningKey, keys: OidcSigningKey[], now: Date, policy: KeyPolicy): boolean {
  const successor = keys.find((k) => k.generation > key.generation);
  return successor !== undefined && now.getTime() >= successor.activatesAt.getTime() + policy.maxTokenLifetimeMs + policy.leewayMs;
}

/**
 * Generates and stores key `generation` of the tenant. Concurrent callers in this process share one generation;
 * a caller in another process that stored the same generation first wins on the unique index, and its key is used.
 */
function createKey(models: Models, tenantId: number, generation: number, publishedAt: Date, activatesAt: Date): Promise<OidcSigningKey> {
  const pending = pendingByDatabase.get(models) ?? new Map<string, Promise<OidcSigningKey>>();
  pendingByDatabase.set(models, pending);
  const name = `${tenantId}:${generation}`;
  const inFlight = pending.get(name);
  if (inFlight) return inFlight;
  const p = (async () => {
    const pair = await generateRsaKeyPair();
    try {
      return await models.OidcSigningKey.create({
        tenantId,
        generation,
        kid: pair.kid,
        publicJwk: JSON.stringify(pair.publicJwk),
        privateKey: pair.privatePem,
        publishedAt,
        activatesAt,
      });
    } catch (err) {
      if (!(err instanceof UniqueConstraintError)) throw err;
      const winner = await models.OidcSigningKey.findOne({ where: { tenantId, generation } });
      if (!winner) throw err;
      return winner;
    }
  })().finally(() => pending.delete(name));
  pending.set(name, p);
  return p;
}

/** Private keys already opened, by row and kid (decrypting and parsing PEM for every token would be wasted work). */
const MAX_CACHED_KEYS = 1000;
const privateKeys = new Map<string, KeyObject>();

function privateKeyOf(row: OidcSigningKey): KeyObject {
  const cacheKey = `${row.id}:${row.kid}`;
  let key = privateKeys.get(cacheKey);
  if (!key) {
    const pem = revealSecret(row, "privateKey");
    if (!pem) throw new Error(`OIDC signing key ${row.kid} has no private key`);
    key = createPrivateKey(pem);
    if (privateKeys.size >= MAX_CACHED_KEYS) privateKeys.delete(privateKeys.keys().next().value as string);
    privateKeys.set(cacheKey, key);
  }
  return key;
}
