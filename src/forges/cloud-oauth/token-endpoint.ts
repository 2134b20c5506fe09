import { registerSecret } from "../../log/logger";
import { grantedAccess, postTokenEndpoint, tokenEndpointUrl } from "../cloud/token-endpoint";
import type { OAuthSettings } from "./oauth-settings";

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
  const basic = `Basic ${Buffer.from(`${settings.key}:${settings.secret}`).toString("base64")}`;
  const answer = await postTokenEndpoint(tokenEndpointUrl(settings.siteUrl), basic, new URLSearchParams(form).toString());
  const body = answer.body ?? {};
  if (answer.status !== 200) {
    const why = [body.error, body.error_description].filter((v) => typeof v === "string").join(": ") || `HTTP ${answer.status}`;
    throw new GrantRefusedError(`Bitbucket refused the ${form.grant_type === "refresh_token" ? "refresh" : "authorization code"} (${why.slice(0, 300)})`);
  }
  const access = grantedAccess(body);
  const refreshToken = typeof body.refresh_token === "string" ? body.refresh_token : form.refresh_token;
  if (!refreshToken) throw new Error("Bitbucket's token endpoint answered without a refresh_token");
  registerSecret(refreshToken);
  return { ...access, refreshToken };
}

export function exchangeCode(settings: OAuthSettings, code: string): Promise<GrantedTokens> {
  return tokenRequest(settings, { grant_type: "authorization_code", code });
}

export function refreshGrant(settings: OAuthSettings, refreshToken: string): Promise<GrantedTokens> {
  return tokenRequest(settings, { grant_type: "refresh_token", refresh_token: refreshToken });
}
