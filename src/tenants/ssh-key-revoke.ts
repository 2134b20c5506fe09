import type { Models } from "../db/models";
import type { TenantRevoker } from "./revoke-tenant";

/**
 * On uninstall or disconnect the tenant's SSH key pair is deleted: the private key is a secret we hold only for the
 * tenant, and a re-install generates a new pair. The public key stays on any Bitbucket account it was added to
 * (harmless without its private half); a revoker that deletes it there must run before this one, which forgets
 * where it was added.
 */
export function deleteSshKeyOnRevoke(models: Models): TenantRevoker {
  return async (tenant, tx) => {
    await models.TenantSshKey.destroy({ where: { tenantId: tenant.id }, transaction: tx });
  };
}
