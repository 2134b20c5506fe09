import type { Config } from "../../config/load-config";

/** What the OAuth door needs from the configuration: the consumer and where Bitbucket Cloud is. */
export interface OAuthSettings {
  key: string;
  secret: string;
  /** `https://bitbucket.org` (or the stand-in): authorize, token endpoint, git. */
  siteUrl: string;
  /** `https://api.bitbucket.org`. */
  apiUrl: string;
}

/** The settings, or null when no consumer is configured (then no OAuth route is mounted). */
export function oauthSettings(config: Config): OAuthSettings | null {
  if (!config.oauth) return null;
  return { key: config.oauth.key, secret: config.oauth.secret, siteUrl: config.bitbucketUrl, apiUrl: config.bitbucketApiUrl };
}

/** Where Bitbucket sends the browser back after "Grant access"; registered as the consumer's callback URL. */
export function callbackUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, "")}/oauth/callback`;
}
