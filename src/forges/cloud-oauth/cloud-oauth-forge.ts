import type { Models } from "../../db/models";
import { parseCloudEvent } from "../cloud/parse-cloud-event";
import { cloudRestForge } from "../cloud/cloud-rest-forge";
import { MalformedEventError, type ParsedDelivery } from "../events";
import type { CloneAccess, Forge } from "../forge";
import { oauthCaller } from "./oauth-caller";
import { oauthAccessToken } from "./oauth-credentials";
import type { OAuthSettings } from "./oauth-settings";

/**
 * Bitbucket Cloud through an OAuth consumer: API calls and git with the connection's bearer token (refreshed ahead
 * of expiry and once on a 401); deliveries are the bare payload of a repository webhook.
 */
export function cloudOAuthForge(models: Models, settings: OAuthSettings, baseUrl: string): Forge {
  return cloudRestForge({
    caller: async (tenant, opts) => oauthCaller(models, settings, tenant, opts),
    siteUrl: () => settings.siteUrl,

    async canPost(tenant) {
      const conn = await models.OAuthConnection.findOne({ where: { tenantId: tenant.id }, attributes: ["state"] });
      return conn?.state === "connected";
    },

    parseDelivery(eventKey: string, rawBody: string): ParsedDelivery {
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch (err) {
        throw new MalformedEventError(`the delivery is not JSON (${(err as Error).message})`);
      }
      // A plain webhook's body is what Connect wraps as `data`.
      return parseCloudEvent(eventKey, body);
    },

    async cloneAccess(tenant, repository): Promise<CloneAccess> {
      const token = await oauthAccessToken(models, settings, tenant);
      const basic = Buffer.from(`x-token-auth:${token}`).toString("base64");
      return { url: `${settings.siteUrl}/${repository}.git`, extraHeader: `Authorization: Basic ${basic}` };
    },

    buildPageUrl(_tenant, _repository, build) {
      // Outside Bitbucket: the standalone page of the build, behind the session.
      return `${baseUrl.replace(/\/+$/, "")}/oauth/builds/${build.id}`;
    },
  });
}
