import { registerSecret } from "../../log/logger";
import { ForgeUnavailableError } from "../forge";
import type { OAuthSettings } from "./oauth-settings";

const TIMEOUT_MS = 15_000;

export interface GrantedTokens {
  accessToken: string;
  refreshToken: string;
  /** Seconds the access token lives (Bitbucket: 1–2 hours). */
  expiresIn: number;
  scopes: string | null;
}

/** Bitbucket refused the grant (a bad code, or a refresh token revoked on Bitbucket's side): the user must reconnect. */
export class GrantRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GrantRefusedError";
  }
}

/**
 * One call to `{site}/site/oauth2/access_token` with the consumer's key and secret (HTTP Basic), for
 * `grant_type=authorization_code` or `refresh_token`. A 4xx is a GrantRefusedError; no answer, a 5xx or 429 is a
 * ForgeUnavailableError (try again later). Tokens are registered with the log redactor.
 */
export async function tokenRequest(settings: OAuthSettings, form: Record<string, string>): Promise<GrantedTokens> {
  let res: Response;
  try {
    res = await fetch(`${settings.siteUrl}/site/oauth2/access_token`, {
      method: "POST",
      headers: {
        Authorization: `Basic ${Buffer.from(`${settings.key}:${settings.secret}`).toString("base64")}`,
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      body: new URLSearchParams(form).toString(),
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
  let body: { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown; scopes?: unknown; error?: unknown; error_description?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    /* described below */
  }
  if (res.status !== 200) {
    const why = [body.error, body.error_description].filter((v) => typeof v === "string").join(": ") || `HTTP ${res.status}`;
    throw new GrantRefusedError(`Bitbucket refused the ${form.grant_type === "refresh_token" ? "refresh" : "authorization code"} (${why.slice(0, 300)})`);
  }
  if (typeof body.access_token !== "string" || !body.access_token) throw new Error("Bitbucket's token endpoint answered without an access_token");
  const refreshToken = typeof body.refresh_token === "string" ? body.refresh_token : form.refresh_token;
  if (!refreshToken) throw new Error("Bitbucket's token endpoint answered without a refresh_token");
  registerSecret(body.access_token);
  registerSecret(refreshToken);
  return {
    accessToken: body.access_token,
    refreshToken,
    expiresIn: typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 3600,
    scopes: typeof body.scopes === "string" ? body.scopes.slice(0, 1024) : null,
  };
}

export function exchangeCode(settings: OAuthSettings, code: string): Promise<GrantedTokens> {
  return tokenRequest(settings, { grant_type: "authorization_code", code });
}

export function refreshGrant(settings: OAuthSettings, refreshToken: string): Promise<GrantedTokens> {
  return tokenRequest(settings, { grant_type: "refresh_token", refresh_token: refreshToken });
}
