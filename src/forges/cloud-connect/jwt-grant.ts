import { Op } from "sequelize";
import type { Models, Tenant } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";
import { registerSecret } from "../../log/logger";
import { outgoingAuthorization } from "./jwt/outgoing";
import type { CloudApiTenant } from "./cloud-api";
import { ForgeUnavailableError } from "../forge";

/** A token is renewed when it has less than this left (a clone or a long step must not outlive it). */
const MIN_REMAINING_MS = 10 * 60_000;
const TIMEOUT_MS = 15_000;

/**
 * An access token for the installation, from Bitbucket's JWT grant (`POST {baseUrl}/site/oauth2/access_token`,
 * `grant_type=urn:bitbucket:oauth2:jwt`, signed by the app). Tokens are kept encrypted and reused until they
 * are close to expiry; `fresh` forces a new one (after a 401). Uninstall deletes them.
 */
export async function jwtGrantToken(models: Models, tenant: Tenant, api: CloudApiTenant, opts: { fresh?: boolean } = {}): Promise<string> {
  if (!opts.fresh) {
    const cached = await models.AccessToken.findOne({
      where: { tenantId: tenant.id, purpose: "jwt-grant", expiresAt: { [Op.gt]: new Date(Date.now() + MIN_REMAINING_MS) } },
      order: [["expiresAt", "DESC"]],
    });
    const token = cached && revealSecret(cached, "token");
    if (token) return token;
  }
  const url = `${tenant.baseUrl.replace(/\/+$/, "")}/site/oauth2/access_token`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: {
        Authorization: outgoingAuthorization({ appKey: api.appKey, clientKey: api.clientKey, key: api.key, method: "POST", url, baseUrl: tenant.baseUrl }),
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      body: "grant_type=urn%3Abitbucket%3Aoauth2%3Ajwt",
      signal: AbortSignal.timeout(TIMEOUT_MS),
      redirect: "manual",
    });
  } catch (err) {
    const timeout = (err as Error).name === "TimeoutError";
    throw new ForgeUnavailableError(`Bitbucket's token endpoint could not be reached (${(err as Error).message})`, { error: timeout ? "timeout" : "network" });
  }
  const text = await res.text();
  if (res.status === 429 || res.status >= 500) {
    throw new ForgeUnavailableError(`Bitbucket's token endpoint answered HTTP ${res.status}`, { status: res.status, retryAfter: res.headers.get("retry-after") });
  }
  if (res.status !== 200) throw new Error(`Bitbucket refused an access token for this installation (HTTP ${res.status})`);
  let body: { access_token?: unknown; expires_in?: unknown; scopes?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error("Bitbucket's token endpoint answered something that is not JSON");
  }
  if (typeof body.access_token !== "string" || !body.access_token) throw new Error("Bitbucket's token endpoint answered without an access_token");
  registerSecret(body.access_token);
  const seconds = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 3600;
  await models.AccessToken.create({
    tenantId: tenant.id,
    purpose: "jwt-grant",
    token: body.access_token,
    scopes: typeof body.scopes === "string" ? body.scopes.slice(0, 1024) : null,
    expiresAt: new Date(Date.now() + seconds * 1000),
  });
  await models.AccessToken.destroy({ where: { tenantId: tenant.id, purpose: "jwt-grant", expiresAt: { [Op.lt]: new Date() } } });
  return body.access_token;
}
