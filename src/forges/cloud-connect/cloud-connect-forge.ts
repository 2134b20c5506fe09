import type { Models, Tenant } from "../../db/models";
import { parseCloudEvent } from "../cloud/parse-cloud-event";
import { cloudRestForge } from "../cloud/cloud-rest-forge";
import type { CloudCaller } from "../cloud/cloud-caller";
import { MalformedEventError, type ParsedDelivery } from "../events";
import type { CloneAccess, Forge } from "../forge";
import { cloudApiRequest } from "./cloud-api";
import { connectApiTenant } from "./connect-api-tenant";
import { jwtGrantToken } from "./jwt-grant";

/** The API of a Connect tenant, every call signed with the app's JWT (qsh of exactly that call). */
export function connectCaller(tenant: Tenant): CloudCaller {
  const api = connectApiTenant(tenant);
  return { baseApiUrl: api.baseApiUrl, request: (method, path, opts) => cloudApiRequest(api, method, path, opts ?? {}) };
}

/** Bitbucket Cloud through a Connect installation: API calls signed with the app's JWT, git with a JWT-grant token. */
export function cloudConnectForge(models: Models): Forge {
  return cloudRestForge({
    // A JWT is minted per call: there is nothing to refresh.
    caller: async (tenant) => connectCaller(tenant),
    siteUrl: (tenant) => tenant.baseUrl,

    parseDelivery(eventKey: string, rawBody: string): ParsedDelivery {
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch (err) {
        throw new MalformedEventError(`the delivery is not JSON (${(err as Error).message})`);
      }
      const data = body && typeof body === "object" && !Array.isArray(body) ? (body as { data?: unknown }).data : undefined;
      return parseCloudEvent(eventKey, data);
    },

    async cloneAccess(tenant, repository): Promise<CloneAccess> {
      const token = await jwtGrantToken(models, tenant, connectApiTenant(tenant));
      const basic = Buffer.from(`x-token-auth:${token}`).toString("base64");
      return { url: `${tenant.baseUrl.replace(/\/+$/, "")}/${repository}.git`, extraHeader: `Authorization: Basic ${basic}` };
    },

    buildPageUrl(tenant, repository, build) {
      // The repository page module of the descriptor ("pipelines-builds"), opened inside Bitbucket.
      return `${tenant.baseUrl.replace(/\/+$/, "")}/${repository}/addon/${encodeURIComponent(tenant.appKey ?? "")}/pipelines-builds?build=${build.id}`;
    },
  });
}
