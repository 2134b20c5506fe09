import type { EngineContext } from "../../builds/engine-context";
import type { OAuthSettings } from "../../forges/cloud-oauth/oauth-settings";
import type { ActorDeps } from "./request-actor";

/** What the deployments and schedules routes need: the engine's context, and how to ask about the acting person. */
export interface DeploymentsApiDeps {
  ctx: EngineContext;
  oauth: OAuthSettings | null;
}

export function actorDeps(deps: DeploymentsApiDeps): ActorDeps {
  return { models: deps.ctx.models, forgeFor: deps.ctx.forgeFor, oauth: deps.oauth };
}
