/** What the stand-in's OAuth side remembers (see oauth.ts). */

export interface OAuthUser {
  uuid: string;
  nickname: string;
  displayName: string;
  accountId: string;
  /** Workspace slugs the user belongs to, with the permission. */
  workspaces: Map<string, "owner" | "collaborator" | "member">;
}

export interface OAuthConsumer {
  key: string;
  secret: string;
  callbackUrl: string;
  scopes: string[];
}

export interface Grant {
  consumer: string;
  user: string;
  revoked: boolean;
}

export class OAuthState {
  readonly users = new Map<string, OAuthUser>();
  readonly consumers = new Map<string, OAuthConsumer>();
  readonly codes = new Map<string, { consumer: string; user: string; expiresAt: number }>();
  readonly refreshTokens = new Map<string, Grant>();
  signedIn: string | null = null;
}

