import type { Request, Response } from "express";
import type { Application, Models } from "../../db/models";
import type { Actor } from "../../deployments/actor";
import type { ForgeFor } from "../../forges/forge-for";
import type { RepositoryPerson } from "../../forges/forge";
import type { OAuthSettings } from "../../forges/cloud-oauth/oauth-settings";
import { currentSession } from "../oauth/session";
import { sessionUserToken } from "../oauth/session-user-token";
import { serverGrantOf } from "../server-login/server-grant";
import { tenantAuthOf } from "../../http/tenant-auth";

export interface ActorDeps {
  models: Models;
  forgeFor: ForgeFor;
  /** The OAuth consumer (to refresh a signed-in person's own token); null when none is configured. */
  oauth: OAuthSettings | null;
}

/** Thrown by Actor.isAdmin when the door gives no credentials of the person to ask Bitbucket with. */
class NoPersonError extends Error {}

/**
 * The person acting on this request, whichever door they came through, with the way to ask Bitbucket about them:
 * a Connect context token or a Forge invocation names a Bitbucket account (asked with the installation's own
 * credentials); an OAuth session has the person's own token; a Server session what the Server said at sign-in.
 */
export function requestActor(deps: ActorDeps, req: Request, res: Response, app: Application): Actor {
  const auth = tenantAuthOf(res);
  const person = async (): Promise<RepositoryPerson> => {
    if (auth.via === "connect" || auth.via === "forge") {
      if (!auth.user) throw new NoPersonError("the page's token names no Bitbucket user");
      return { kind: "cloud-account", accountId: auth.user };
    }
    const session = await currentSession(deps.models, req);
    if (!session) throw new NoPersonError("sign in again");
    const grant = serverGrantOf(session);
    if (grant) return { kind: "server-sign-in", username: grant.username, adminRepositories: grant.adminRepositories ?? [] };
    const token = deps.oauth ? await sessionUserToken(deps.models, deps.oauth, session) : null;
    if (!token) throw new NoPersonError("your Bitbucket sign-in is not usable any more: sign in again (Connect Bitbucket)");
    return { kind: "cloud-token", token };
  };
  return {
    name: auth.user,
    isAdmin: async () => deps.forgeFor(auth.tenant).isRepositoryAdmin(auth.tenant, app.repository, await person()),
  };
}
