import type { Models } from "../db/models";
import type { TenantRevoker } from "./revoke-tenant";

/**
 * On uninstall or disconnect the tenant's OIDC signing keys are deleted: its issuer stops answering, and a token it
 * signed before no longer verifies (relying parties find no key for it). A re-install starts with a new key under
 * the same issuer URL, so trust policies written for it still apply.
 */
export function deleteOidcKeysOnRevoke(models: Models): TenantRevoker {
  return async (tenant, tx) => {
    await models.OidcSigningKey.destroy({ where: { tenantId: tenant.id }, transaction: tx });
  };
}
