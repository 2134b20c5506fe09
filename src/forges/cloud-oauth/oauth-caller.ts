import type { Models, Tenant } from "../../db/models";
import type { ApiResponse, CloudCaller } from "../cloud/cloud-caller";
import { oauthAccessToken } from "./oauth-credentials";
import type { OAuthSettings } from "./oauth-settings";

const DEFAULT_TIMEOUT_MS = 15_000;

async function bearerRequest(apiUrl: string, token: string, method: string, pathAndQuery: string, opts: { body?: unknown; timeoutMs?: number }): Promise<ApiResponse> {
  const url = apiUrl + (pathAndQuery.startsWith("/") ? pathAndQuery : "/" + pathAndQuery);
  const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: "application/json" };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS), redirect: "manual" });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T };
}

/**
 * The API of an OAuth tenant with its connection's bearer token: refreshed ahead of expiry, and once more when
 * Bitbucket answers 401 (the call is then repeated once). A refused refresh throws ReconnectNeededError.
 */
export function oauthCaller(models: Models, settings: OAuthSettings, tenant: Tenant, opts: { fresh?: boolean } = {}): CloudCaller {
  let fresh = opts.fresh ?? false;
  return {
    baseApiUrl: settings.apiUrl,
    async request(method, path, o = {}) {
      const justRefreshed = fresh;
      const token = await oauthAccessToken(models, settings, tenant, { fresh });
      fresh = false;
      const res = await bearerRequest(settings.apiUrl, token, method, path, o);
      // One refresh per call: a 401 right after a refresh is Bitbucket's answer, not a stale token.
      if (res.status !== 401 || justRefreshed) return res;
      const renewed = await oauthAccessToken(models, settings, tenant, { fresh: true });
      return bearerRequest(settings.apiUrl, renewed, method, path, o);
    },
  };
}

/** A call with a token that belongs to no tenant yet (the grant being completed at the callback). */
export function tokenCaller(settings: OAuthSettings, token: string): CloudCaller {
  return { baseApiUrl: settings.apiUrl, request: (method, path, o = {}) => bearerRequest(settings.apiUrl, token, method, path, o) };
}
