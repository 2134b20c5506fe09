import { randomAccessToken } from "./ids";

/** Access tokens issued by the JWT grant (POST /site/oauth2/access_token). */

export interface AccessToken {
  clientKey: string;
  workspace: string;
  scopes: string[];
  expiresAt: number;
  revoked: boolean;
}

export type TokenLookup = { ok: true; token: AccessToken } | { ok: false; reason: string; clientKey: string | null };

export class TokenStore {
  private readonly tokens = new Map<string, AccessToken>();

  issue(clientKey: string, workspace: string, scopes: string[], ttlSeconds: number): { value: string; token: AccessToken } {
    const value = randomAccessToken();
    const token: AccessToken = { clientKey, workspace, scopes: [...scopes], expiresAt: Date.now() + ttlSeconds * 1000, revoked: false };
    this.tokens.set(value, token);
    return { value, token };
  }

  /** A token issued elsewhere (a Forge app's system token) that this Bitbucket accepts. */
  register(value: string, token: AccessToken): void {
    this.tokens.set(value, token);
  }

  lookup(value: string): TokenLookup {
    const token = this.tokens.get(value);
    if (!token) return { ok: false, reason: "Access token is invalid.", clientKey: null };
    if (token.revoked) return { ok: false, reason: "Access token has been revoked.", clientKey: token.clientKey };
    if (Date.now() >= token.expiresAt) return { ok: false, reason: "Access token expired.", clientKey: token.clientKey };
    return { ok: true, token };
  }

  /** Makes every token issued so far expired. */
  expireAll(): void {
    for (const t of this.tokens.values()) t.expiresAt = 0;
  }

  revokeAll(clientKey: string): void {
    for (const t of this.tokens.values()) if (t.clientKey === clientKey) t.revoked = true;
  }

  /** How many tokens of this installation still work. */
  activeCount(clientKey: string): number {
    const now = Date.now();
    return [...this.tokens.values()].filter((t) => t.clientKey === clientKey && !t.revoked && now < t.expiresAt).length;
  }
}
