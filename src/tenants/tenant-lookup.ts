import type { Models, Tenant } from "../db/models";

/** How long a tenant read for a webhook is reused. Lifecycle changes in this process clear it at once. */
const TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;

export interface TenantLookup {
  /** The Connect tenant with this clientKey, or null; possibly up to TTL_MS old. */
  find(clientKey: string): Promise<Tenant | null>;
  /** Forget what is known of a tenant (it was installed, re-installed or uninstalled). */
  forget(clientKey: string): void;
}

/**
 * The webhook path reads the same tenant thousands of times a second: keep each read for two seconds. A change
 * made through this process (install, secret rotation, uninstall) clears its entry at once; one made by another
 * process is seen within the TTL — and a signature that fails against a cached secret is checked again against
 * the database (see `connectWebhookPost`), so a rotated secret never refuses a valid delivery.
 */
export function cachedTenantLookup(models: Models): TenantLookup {
  const cache = new Map<string, { tenant: Tenant | null; until: number }>();
  return {
    async find(clientKey) {
      const hit = cache.get(clientKey);
      if (hit && hit.until > Date.now()) return hit.tenant;
      const tenant = await models.Tenant.findOne({ where: { clientKey, kind: "cloud-connect" } });
      if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
      cache.set(clientKey, { tenant, until: Date.now() + TTL_MS });
      return tenant;
    },
    forget(clientKey) {
      cache.delete(clientKey);
    },
  };
}
