import { randomBytes } from "node:crypto";
import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import type { OAuthSettings } from "../../forges/cloud-oauth/oauth-settings";
import { currentSession, newSession, sha256 } from "./session";

/** How long a started authorization may take before its `state` is refused. */
export const STATE_TTL_MS = 10 * 60_000;

/**
 * GET /oauth/connect — "Connect Bitbucket": binds a fresh random `state` to this browser's session (only its hash is
 * stored, with an expiry; a new one replaces any earlier) and redirects to Bitbucket's authorization page.
 */
export function oauthConnectGet(models: Models, settings: OAuthSettings) {
  return async (req: Request, res: Response) => {
    const session = (await currentSession(models, req)) ?? (await newSession(models, req, res));
    const state = randomBytes(24).toString("base64url");
    await session.update({ stateHash: sha256(state), stateExpiresAt: new Date(Date.now() + STATE_TTL_MS) });
    const url = new URL(`${settings.siteUrl}/site/oauth2/authorize`);
    url.searchParams.set("client_id", settings.key);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("state", state);
    // No `scope`: Bitbucket grants what the consumer's permissions say (set them as /oauth/setup lists, SCOPES.md).
    res.set("Cache-Control", "no-store").redirect(302, url.toString());
  };
}
