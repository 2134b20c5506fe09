import type { Models, OAuthSession } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";
import type { OAuthSettings } from "../../forges/cloud-oauth/oauth-settings";
import { GrantRefusedError, refreshGrant, type GrantedTokens } from "../../forges/cloud-oauth/token-endpoint";

/** A person's token is refreshed when it has less than this left. */
const AHEAD_MS = 60_000;

/** Keeps the signed-in person's own grant on their session (sealed by the model), to ask Bitbucket as them. */
export async function keepUserGrant(session: OAuthSession, tokens: GrantedTokens): Promise<void> {
  await session.update({ userAccessToken: tokens.accessToken, userRefreshToken: tokens.refreshToken, userTokenExpiresAt: new Date(Date.now() + tokens.expiresIn * 1000) });
}

/**
 * The signed-in person's own Bitbucket access token (refreshed with their refresh token when it is about to
 * expire), or null when the session has none (signed in before Pipelines kept it, or Bitbucket refused the refresh:
 * signing in again gives a new one).
 */
export async function sessionUserToken(models: Models, settings: OAuthSettings, session: OAuthSession): Promise<string | null> {
  const expires = session.userTokenExpiresAt?.getTime() ?? 0;
  if (expires - AHEAD_MS > Date.now()) return revealSecret(session, "userAccessToken");
  const refresh = revealSecret(session, "userRefreshToken");
  if (!refresh) return null;
  try {
    const granted = await refreshGrant(settings, refresh);
    await keepUserGrant(session, granted);
    return granted.accessToken;
  } catch (err) {
    if (!(err instanceof GrantRefusedError)) throw err;
    await models.OAuthSession.update({ userAccessToken: null, userRefreshToken: null, userTokenExpiresAt: null }, { where: { id: session.id } });
    return null;
  }
}
