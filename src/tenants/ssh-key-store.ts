import { UniqueConstraintError } from "sequelize";
import type { Models, Tenant, TenantSshKey } from "../db/models";
import { revealSecret } from "../db/encrypted-fields";
import { generateSshKeyPair, keyComment } from "./ssh-key-format";

/** What may be shown of a tenant's SSH key: never the private half. */
export interface SshPublicKeyInfo {
  publicKey: string;
  fingerprint: string;
  /** The Bitbucket account it was added to through the configure page, if it was. */
  bitbucketAccount: string | null;
  addedToBitbucketAt: Date | null;
}

export function publicKeyInfo(row: TenantSshKey): SshPublicKeyInfo {
  return { publicKey: row.publicKey, fingerprint: row.fingerprint, bitbucketAccount: row.bitbucketAccount, addedToBitbucketAt: row.addedToBitbucketAt };
}

/** Key pairs being read or generated in this process (per database), so concurrent first requests share one. */
const pendingByDatabase = new WeakMap<Models, Map<number, Promise<TenantSshKey>>>();

/**
 * The tenant's SSH key pair, generated and stored (private key sealed) the first time it is needed. Unique per
 * tenant: a concurrent first request in this process waits for the same key; one in another process loses the
 * insert on the unique index and reads the winner's.
 */
export function tenantSshKey(models: Models, tenant: Tenant): Promise<TenantSshKey> {
  const pending = pendingByDatabase.get(models) ?? new Map<number, Promise<TenantSshKey>>();
  pendingByDatabase.set(models, pending);
  const inFlight = pending.get(tenant.id);
  if (inFlight) return inFlight;
  const p = findOrCreate(models, tenant).finally(() => pending.delete(tenant.id));
  pending.set(tenant.id, p);
  return p;
}

async function findOrCreate(models: Models, tenant: Tenant): Promise<TenantSshKey> {
  const existing = await models.TenantSshKey.findOne({ where: { tenantId: tenant.id } });
  if (existing) return existing;
  const pair = generateSshKeyPair(keyComment(tenant.principalName ?? tenant.principalUuid ?? tenant.clientKey));
  try {
    return await models.TenantSshKey.create({ tenantId: tenant.id, publicKey: pair.publicKey, fingerprint: pair.fingerprint, privateKey: pair.privateKey });
  } catch (err) {
    if (!(err instanceof UniqueConstraintError)) throw err;
    const winner = await models.TenantSshKey.findOne({ where: { tenantId: tenant.id } });
    if (!winner) throw err;
    return winner;
  }
}

/**
 * The tenant's OpenSSH private key file, for a clone over SSH (it is registered with the log redactor). Never
 * render, log or send it anywhere but to ssh.
 */
export async function tenantSshPrivateKey(models: Models, tenant: Tenant): Promise<string> {
  const row = await tenantSshKey(models, tenant);
  const key = revealSecret(row, "privateKey");
  if (!key) throw new Error(`the SSH key of tenant ${tenant.id} has no private key`);
  return key;
}

/** Remembers that the public key was added to a Bitbucket account, with the uuid Bitbucket gave it there. */
export async function recordAddedToBitbucket(row: TenantSshKey, account: string, keyUuid: string | null): Promise<void> {
  await row.update({ bitbucketAccount: account, bitbucketKeyUuid: keyUuid, addedToBitbucketAt: new Date() });
}
