import { timingSafeEqual } from "node:crypto";
import type { Request, Response } from "express";
import { Op } from "sequelize";
import type { Models } from "../../db/models";
import { HttpError, badRequest } from "../../http/http-error";
import type { Logger } from "../../log/logger";
import type { OAuthSettings } from "../../forges/cloud-oauth/oauth-settings";
import { exchangeCode, GrantRefusedError } from "../../forges/cloud-oauth/token-endpoint";
import { tokenCaller } from "../../forges/cloud-oauth/oauth-caller";
import { connectWorkspaces, fetchIdentity, fetchWorkspaces } from "../../forges/cloud-oauth/complete-grant";
import { currentSession, newSession, sha256 } from "./session";
import { keepUserGrant } from "./session-user-token";

const refused = (why: string) => new HttpError(403, `${why} Start again from “Connect Bitbucket”.`);

/**
 * GET /oauth/callback — Bitbucket sends the browser back here after "Grant access". Steps:
 * 1. the session of this browser must hold a pending `state` equal (constant time, by hash) to the one returned,
 *    not expired; it is cleared at once, so a state is used once, whatever happens next;
 * 2. `error=access_denied` (the user declined) ends here;
 * 3. the code is exchanged for tokens (consumer key and secret, HTTP Basic);
 * 4. the identity (`/2.0/user`) and its workspaces (`/2.0/user/permissions/workspaces`) are read; every workspace
 *    becomes (or stays) a tenant, the tokens stored sealed;
 * 5. the session is replaced by a new one (new cookie: no fixation) holding the identity, its workspaces and the
 *    person's own grant (sealed; to ask Bitbucket, e.g., whether they administer a repository).
 */
export function oauthCallbackGet(models: Models, settings: OAuthSettings, log: Logger) {
  return async (req: Request, res: Response) => {
    const state = typeof req.query.state === "string" ? req.query.state : "";
    const session = await currentSession(models, req);
    if (!session?.stateHash || !session.stateExpiresAt) throw refused("This browser has no authorization in progress (or its session cookie is missing).");
    const expected = Buffer.from(session.stateHash, "hex");
    const given = Buffer.from(sha256(state), "hex");
    const expired = session.stateExpiresAt.getTime() < Date.now();
    await session.update({ stateHash: null, stateExpiresAt: null });
    if (!state || !timingSafeEqual(expected, given)) throw refused("The authorization's state does not match the one this browser started with.");
    if (expired) throw refused("The authorization took longer than 10 minutes.");
    if (typeof req.query.error === "string") throw refused(`Bitbucket did not grant access (${req.query.error.slice(0, 100)}).`);
    const code = typeof req.query.code === "string" ? req.query.code : "";
    if (!code) throw badRequest("Bitbucket sent no authorization code.");

    let tokens;
    try {
      tokens = await exchangeCode(settings, code);
    } catch (err) {
      if (err instanceof GrantRefusedError) throw refused(`${err.message}.`);
      throw new HttpError(502, `Bitbucket could not complete the authorization: ${(err as Error).message}`);
    }
    const caller = tokenCaller(settings, tokens.accessToken);
    const user = await fetchIdentity(caller);
    const workspaces = await fetchWorkspaces(caller);
    const tenants = await connectWorkspaces(models, settings, user, workspaces, tokens);
    log.info("bitbucket connected through oauth", { user: user.uuid, workspaces: workspaces.map((w) => w.slug), tenants: tenants.map((t) => t.id) });

    await session.destroy();
    await models.OAuthSession.destroy({ where: { expiresAt: { [Op.lt]: new Date() } } });
    const signedIn = await newSession(models, req, res);
    await signedIn.update({ userUuid: user.uuid, userName: user.name, workspaceUuids: JSON.stringify(workspaces.map((w) => w.uuid)) });
    // The person's own grant, sealed on their session: what Pipelines asks Bitbucket with about what they may do.
    await keepUserGrant(signedIn, tokens);
    // Signed in: straight to the workspaces and their builds.
    res.set("Cache-Control", "no-store").redirect(302, "/app");
  };
}
