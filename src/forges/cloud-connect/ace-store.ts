import type { Models } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";

/**
 * ACE's store, as an adapter over our own tenants table (so secrets are encrypted and the schema is migrated,
 * unlike ACE's built-in store which keeps `sharedSecret` in plain JSON and uses `sync()`).
 * Tenants are written only by our lifecycle routes: ACE may read them, never write them.
 */
export function aceStoreAdapter(models: Models) {
  const refuse = async () => {
    throw new Error("Pipelines stores installations only through its own lifecycle routes");
  };
  return {
    isMemoryStore: () => false,
    async get(key: string, clientKey: string) {
      if (key !== "clientInfo") return null;
      const t = await models.Tenant.findOne({ where: { clientKey, kind: "cloud-connect", status: "active" } });
      if (!t) return null;
      return { clientKey: t.clientKey, key: t.appKey, baseUrl: t.baseUrl, baseApiUrl: t.baseApiUrl, productType: "bitbucket", sharedSecret: revealSecret(t, "sharedSecret") };
    },
    async getAllClientInfos() {
      const all = await models.Tenant.findAll({ where: { kind: "cloud-connect", status: "active" } });
      return all.map((t) => ({ clientKey: t.clientKey, baseUrl: t.baseUrl, baseApiUrl: t.baseApiUrl, productType: "bitbucket" }));
    },
    set: refuse,
    del: refuse,
    saveInstallation: refuse,
  };
}
