import { Op } from "sequelize";
import type { Models, Tenant } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";
import { outgoingAuthorization } from "./jwt/outgoing";
import type { CloudApiTenant } from "./cloud-api";
import { grantedAccess, postTokenEndpoint, tokenEndpointUrl } from "../cloud/token-endpoint";

/** A token is renewed when it has less than this left (a clone or a long step must not outlive it). */
const MIN_REMAINING_MS = 10 * 60_000;

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
  const url = tokenEndpointUrl(tenant.baseUrl);
  const authorization = outgoingAuthorization({ appKey: api.appKey, clientKey: api.clientKey, key: api.key, method: "POST", url, baseUrl: tenant.baseUrl });
  const answer = await postTokenEndpoint(url, authorization, "grant_type=urn%3Abitbucket%3Aoauth2%3Ajwt");
  if (answer.status !== 200) throw new Error(`Bitbucket refused an access token for this installation (HTTP ${answer.status})`);
  if (!answer.body) throw new Error("Bitbucket's token endpoint answered something that is not JSON");
  const { accessToken, expiresIn, scopes } = grantedAccess(answer.body);
  await models.AccessToken.create({
    tenantId: tenant.id,
    purpose: "jwt-grant",
    token: accessToken,
    scopes,
    expiresAt: new Date(Date.now() + expiresIn * 1000),
  });
  await models.AccessToken.destroy({ where: { tenantId: tenant.id, purpose: "jwt-grant", expiresAt: { [Op.lt]: new Date() } } });
  return accessToken;
}
