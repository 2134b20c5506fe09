import { decodeJwt } from "jose";
import type { Models, Tenant } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";

/** Forge promises a system token is valid for at least two hours; one whose expiry cannot be read is given that. */
const ASSUMED_VALIDITY_MS = 2 * 3600_000;

/** When a system token expires: its JWT `exp`, else two hours from now. */
export function tokenExpiry(token: string, now = Date.now()): Date {
  try {
    const { exp } = decodeJwt(token);
    if (typeof exp === "number" && Number.isFinite(exp)) return new Date(exp * 1000);
  } catch {
    /* not a JWT: Forge's guaranteed minimum */
  }
  return new Date(now + ASSUMED_VALIDITY_MS);
}

/**
 * Keeps the app's system token of a Forge installation (from the `x-forge-oauth-system` header of any call), sealed,
 * with its expiry; of all the tokens received the one that expires last wins, whatever order calls arrive in. A tie
 * (expiries are whole seconds: two calls within a second) goes to the token received last, so that a token Bitbucket
 * has stopped accepting is always replaced by the next one Forge sends. Returns whether this token is now the one kept.
 */
export async function keepNewestToken(models: Models, tenantId: number, token: string): Promise<boolean> {
  const expiresAt = tokenExpiry(token);
  const rows = await models.AccessToken.findAll({ where: { tenantId, purpose: "forge-system" }, order: [["expiresAt", "DESC"]] });
  const [kept, ...extra] = rows;
  // Two first calls at once may each have stored one: keep the newest row only.
  for (const row of extra) await row.destroy();
  if (!kept) {
    await models.AccessToken.create({ tenantId, purpose: "forge-system", token, expiresAt });
    return true;
  }
  if (kept.expiresAt && kept.expiresAt.getTime() > expiresAt.getTime()) return false;
  await kept.update({ token, expiresAt });
  return true;
}

/** The newest system token of a Forge tenant and its expiry, or null when none was ever received. */
export async function newestToken(models: Models, tenant: Tenant): Promise<{ token: string; expiresAt: Date } | null> {
  const row = await models.AccessToken.findOne({ where: { tenantId: tenant.id, purpose: "forge-system" }, order: [["expiresAt", "DESC"]] });
  if (!row) return null;
  return { token: revealSecret(row, "token") ?? "", expiresAt: row.expiresAt ?? new Date(0) };
}
