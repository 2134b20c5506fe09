import { badRequest, unauthorized } from "../../../http/http-error";

/** The fields of a Connect `installed` payload that Pipelines uses. */
export interface InstallPayload {
  key: string;
  clientKey: string;
  sharedSecret: string;
  baseUrl: string;
  baseApiUrl: string;
  productType: "bitbucket";
  principal: { uuid: string; username?: string; display_name?: string; type?: string };
  raw: Record<string, unknown>;
}

/** True when `host` is one of the allowed hosts or a subdomain of one (api.bitbucket.org under bitbucket.org). */
export function isAllowedHost(host: string, allowedHosts: string[]): boolean {
  const h = host.toLowerCase();
  return allowedHosts.some((a) => h === a.toLowerCase() || h.endsWith("." + a.toLowerCase()));
}

function requireString(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== "string" || v.trim() === "") throw badRequest(`the install payload has no ${field}`);
  return v;
}

function requireUrl(body: Record<string, unknown>, field: string, allowedHosts: string[]): string {
  const v = requireString(body, field);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw badRequest(`the install payload's ${field} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw badRequest(`the install payload's ${field} must be an http(s) URL`);
  if (!isAllowedHost(url.hostname, allowedHosts)) {
    throw unauthorized(`installs from ${url.hostname} are not accepted (allowed: ${allowedHosts.join(", ")})`);
  }
  return v.replace(/\/+$/, "");
}

/** Validates an `installed` (or `uninstalled`) payload; every refusal names the field. */
export function parseInstallPayload(body: unknown, opts: { appKey: string; allowedHosts: string[] }): InstallPayload {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("the install payload must be a JSON object");
  const b = body as Record<string, unknown>;
  if (b.productType !== "bitbucket") throw badRequest(`productType must be "bitbucket" (got ${JSON.stringify(b.productType ?? null)})`);
  const key = requireString(b, "key");
  if (key !== opts.appKey) throw badRequest(`the install payload is for app "${key}", not "${opts.appKey}"`);
  const clientKey = requireString(b, "clientKey");
  if (clientKey.length > 255) throw badRequest("clientKey is longer than 255 characters");
  const baseUrl = requireUrl(b, "baseUrl", opts.allowedHosts);
  const baseApiUrl = requireUrl(b, "baseApiUrl", opts.allowedHosts);
  const principal = b.principal;
  if (!principal || typeof principal !== "object" || typeof (principal as { uuid?: unknown }).uuid !== "string") {
    throw badRequest("the install payload has no principal (the workspace or account it is installed in) with a uuid");
  }
  const sharedSecret = b.sharedSecret;
  if (typeof sharedSecret !== "string" || sharedSecret.length === 0) {
    const type = (principal as { type?: unknown }).type;
    throw badRequest(
      `the install payload has no sharedSecret: without it Pipelines cannot verify anything Bitbucket sends for this ${type === "user" ? "account" : "workspace"}`,
    );
  }
  return { key, clientKey, sharedSecret, baseUrl, baseApiUrl, productType: "bitbucket", principal: principal as InstallPayload["principal"], raw: b };
}

/** The payload as stored: everything Bitbucket sent except the secret. */
export function storablePayload(payload: InstallPayload): string {
  const { sharedSecret: _secret, ...rest } = payload.raw;
  return JSON.stringify(rest);
}
