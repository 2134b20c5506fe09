import { Op, type Transaction } from "sequelize";
import type { Models, Tenant } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";
import { GrantRefusedError, refreshGrant, type GrantedTokens } from "./token-endpoint";
import type { OAuthSettings } from "./oauth-settings";

/** The access token is refreshed when it has less than this left (a clone or a long step must not outlive it). */
export const REFRESH_AHEAD_MS = 15 * 60_000;

/** The connection's grant was refused at the last refresh: a person must connect again. */
export class ReconnectNeededError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReconnectNeededError";
  }
}

/** Replaces the tenant's OAuth tokens (sealed by the model's hook). */
export async function storeTokens(models: Models, tenantId: number, t: GrantedTokens, tx?: Transaction): Promise<void> {
  await models.AccessToken.destroy({ where: { tenantId, purpose: { [Op.in]: ["oauth-access", "oauth-refresh"] } }, transaction: tx });
  await models.AccessToken.create({ tenantId, purpose: "oauth-access", token: t.accessToken, scopes: t.scopes, expiresAt: new Date(Date.now() + t.expiresIn * 1000) }, { transaction: tx });
  await models.AccessToken.create({ tenantId, purpose: "oauth-refresh", token: t.refreshToken, scopes: t.scopes, expiresAt: null }, { transaction: tx });
}

/** Refreshes in flight, per database and tenant, so concurrent callers in this process share one refresh. */
const inFlight = new WeakMap<Models, Map<number, Promise<string>>>();

/**
 * A usable access token of the tenant's grant: the stored one while it has more than REFRESH_AHEAD_MS left, else
 * (or with `fresh`, after a 401) a new one from the refresh token. A refresh Bitbucket refuses marks the
 * connection "reconnect-needed" with its reason and throws ReconnectNeededError; so does a connection already
 * marked (no stale credentials are used).
 */
export async function oauthAccessToken(models: Models, settings: OAuthSettings, tenant: Tenant, opts: { fresh?: boolean } = {}): Promise<string> {
  const conn = await models.OAuthConnection.findOne({ where: { tenantId: tenant.id } });
  if (!conn || tenant.status !== "active") throw new ReconnectNeededError("this Bitbucket connection was disconnected");
  if (conn.state === "reconnect-needed") throw new ReconnectNeededError(`reconnect needed: ${conn.reason ?? "Bitbucket refused the grant"}`);
  if (!opts.fresh) {
    const row = await models.AccessToken.findOne({ where: { tenantId: tenant.id, purpose: "oauth-access", expiresAt: { [Op.gt]: new Date(Date.now() + REFRESH_AHEAD_MS) } } });
    const token = row && revealSecret(row, "token");
    if (token) return token;
  }
  const pending = inFlight.get(models) ?? new Map<number, Promise<string>>();
  inFlight.set(models, pending);
  const running = pending.get(tenant.id);
  if (running) return running;
  const p = refresh(models, settings, tenant).finally(() => pending.delete(tenant.id));
  pending.set(tenant.id, p);
  return p;
}

async function refresh(models: Models, settings: OAuthSettings, tenant: Tenant): Promise<string> {
  const row = await models.AccessToken.findOne({ where: { tenantId: tenant.id, purpose: "oauth-refresh" } });
  const refreshToken = row && revealSecret(row, "token");
  if (!refreshToken) {
    await markReconnectNeeded(models, tenant.id, "no refresh token is stored for this connection");
    throw new ReconnectNeededError("reconnect needed: no refresh token is stored for this connection");
  }
  let granted: GrantedTokens;
  try {
    granted = await refreshGrant(settings, refreshToken);
  } catch (err) {
    if (err instanceof GrantRefusedError) {
      await markReconnectNeeded(models, tenant.id, err.message);
      throw new ReconnectNeededError(`reconnect needed: ${err.message}`);
    }
    throw err;
  }
  await models.sequelize.transaction((tx) => storeTokens(models, tenant.id, granted, tx));
  return granted.accessToken;
}

/** Marks the connection "reconnect-needed" (visible on the pages and in the API). */
export async function markReconnectNeeded(models: Models, tenantId: number, reason: string): Promise<void> {
  await models.OAuthConnection.update({ state: "reconnect-needed", reason: reason.slice(0, 1000) }, { where: { tenantId } });
}
