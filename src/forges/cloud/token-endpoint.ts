import { registerSecret } from "../../log/logger";
import { ForgeUnavailableError } from "../forge";

const TIMEOUT_MS = 15_000;

/** The token endpoint's JSON answer, as far as Pipelines reads it (any field may be missing). */
export interface TokenAnswer {
  access_token?: unknown;
  refresh_token?: unknown;
  expires_in?: unknown;
  scopes?: unknown;
  error?: unknown;
  error_description?: unknown;
}

/** `{site}/site/oauth2/access_token` of a Bitbucket Cloud site URL. */
export function tokenEndpointUrl(siteUrl: string): string {
  return `${siteUrl.replace(/\/+$/, "")}/site/oauth2/access_token`;
}

/**
 * One form POST to Bitbucket Cloud's token endpoint, for any grant (the app's JWT grant, or an OAuth consumer's
 * code and refresh grants). No answer, a 5xx or a 429 is a ForgeUnavailableError (try again later); any other answer
 * is returned with its JSON body (null when it is not JSON) for the caller to judge.
 */
export async function postTokenEndpoint(url: string, authorization: string, form: string): Promise<{ status: number; body: TokenAnswer | null }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { Authorization: authorization, "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: form,
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
  try {
    return { status: res.status, body: JSON.parse(text) as TokenAnswer };
  } catch {
    return { status: res.status, body: null };
  }
}

/** The access token of a granted answer (registered with the log redactor), its lifetime in seconds and its scopes. */
export function grantedAccess(body: TokenAnswer): { accessToken: string; expiresIn: number; scopes: string | null } {
  if (typeof body.access_token !== "string" || !body.access_token) throw new Error("Bitbucket's token endpoint answered without an access_token");
  registerSecret(body.access_token);
  return {
    accessToken: body.access_token,
    expiresIn: typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 3600,
    scopes: typeof body.scopes === "string" ? body.scopes.slice(0, 1024) : null,
  };
}
