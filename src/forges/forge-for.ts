import type { Models, Tenant } from "../db/models";
import type { TenantKind } from "../db/models/tenant";
import { cloudConnectForge } from "./cloud-connect/cloud-connect-forge";
import type { Forge } from "./forge";
import { serverForge } from "./server/server-forge";

export type ForgeFor = (tenant: Tenant) => Forge;

/** The forge of each kind of tenant; the only place that knows which kinds exist. */
export function forgeRegistry(models: Models): ForgeFor {
  const forges: Partial<Record<TenantKind, Forge>> = { "cloud-connect": cloudConnectForge(models), server: serverForge(models) };
  return (tenant) => {
    const forge = forges[tenant.kind];
    if (!forge) throw new Error(`no forge for installations of kind ${tenant.kind}`);
    return forge;
  };
}
