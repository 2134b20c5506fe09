import type { Models, Tenant } from "../../db/models";
import type { ApiResponse, CloudCaller } from "../cloud/cloud-caller";
import { ForgeUnavailableError } from "../forge";
import { noteTokenAnswer } from "./forge-installations";
import { newestToken } from "./system-token";

const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * The Bitbucket REST API of a Forge installation: `Authorization: Bearer <system token>` to the `app.apiBaseUrl` the
 * newest invocation gave, with the newest token kept for the installation (read at every call, so a long build posts
 * its last status with a token that arrived after it started). There is no refresh endpoint: with no token left that
 * is still valid, the call waits for the next one Forge sends (ForgeUnavailableError, retried later). Every answer
 * is noted: an unbroken run of 401s for days makes the installation inactive.
 */
export function forgeCaller(models: Models, tenant: Tenant): CloudCaller {
  const apiUrl = (tenant.baseApiUrl ?? "").replace(/\/+$/, "");
  return {
    baseApiUrl: apiUrl,
    async request(method, pathAndQuery, opts = {}): Promise<ApiResponse> {
      const current = await newestToken(models, tenant);
      if (!current || current.expiresAt.getTime() <= Date.now()) {
        throw new ForgeUnavailableError("no unexpired system token of the Forge installation yet: waiting for Forge's next call", { error: "network" });
      }
      const headers: Record<string, string> = { Authorization: `Bearer ${current.token}`, Accept: "application/json" };
      let body: string | undefined;
      if (opts.body !== undefined) {
        headers["Content-Type"] = "application/json";
        body = JSON.stringify(opts.body);
      }
      const url = apiUrl + (pathAndQuery.startsWith("/") ? pathAndQuery : `/${pathAndQuery}`);
      const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS), redirect: "manual" });
      const text = await res.text();
      await noteTokenAnswer(models, tenant.id, res.status);
      return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T };
    },
  };
}
