import type { Transaction } from "sequelize";
import type { Models, Tenant } from "../db/models";

/**
 * Something else that must let go of a tenant when it uninstalls or disconnects (builds stop, webhooks go…).
 * Each revoker runs inside the revocation's transaction.
 */
export type TenantRevoker = (tenant: Tenant, tx: Transaction) => Promise<void>;

/**
 * Revokes everything a tenant gave us: the tenant becomes inactive (its applications stop auto-building and every
 * token it signs is refused), every access token is deleted, and every registered revoker runs. The shared secret
 * is kept only to verify a future re-install, which Bitbucket signs with it.
 */
export async function revokeTenant(models: Models, tenant: Tenant, revokers: TenantRevoker[]): Promise<void> {
  await models.sequelize.transaction(async (tx) => {
    await tenant.update({ status: "inactive", uninstalledAt: new Date() }, { transaction: tx });
    await models.AccessToken.destroy({ where: { tenantId: tenant.id }, transaction: tx });
    for (const revoke of revokers) await revoke(tenant, tx);
  });
}
