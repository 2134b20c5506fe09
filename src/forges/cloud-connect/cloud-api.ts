import type { KeyObject } from "node:crypto";
import { outgoingAuthorization } from "./jwt/outgoing";

/** What the app needs to call one tenant's Bitbucket Cloud API as itself (Connect JWT). */
export interface CloudApiTenant {
  appKey: string;
  clientKey: string;
  baseApiUrl: string;
  key: KeyObject;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  json<T = unknown>(): T;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * One REST call to the tenant's `baseApiUrl` (never a hard-coded host), signed with a Connect JWT whose qsh is
 * that of exactly this call. ACE's httpClient cannot do this: it only signs URLs on `baseUrl`.
 */
export async function cloudApiRequest(
  tenant: CloudApiTenant,
  method: string,
  pathAndQuery: string,
  opts: { body?: unknown; timeoutMs?: number } = {},
): Promise<ApiResponse> {
  const base = tenant.baseApiUrl.replace(/\/+$/, "");
  const url = base + (pathAndQuery.startsWith("/") ? pathAndQuery : "/" + pathAndQuery);
  const headers: Record<string, string> = {
    Authorization: outgoingAuthorization({ appKey: tenant.appKey, clientKey: tenant.clientKey, key: tenant.key, method, url, baseUrl: base }),
    Accept: "application/json",
  };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS), redirect: "manual" });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json<T>() {
      return JSON.parse(text) as T;
    },
  };
}
