/** The Forge events (trigger module) this app subscribes to; the lifecycle ones only refresh the installation. */
export const FORGE_PUSH_EVENT = "avi:bitbucket:push:repository";
export const FORGE_PULL_REQUEST_EVENTS = {
  "avi:bitbucket:created:pullrequest": "created",
  "avi:bitbucket:updated:pullrequest": "updated",
  "avi:bitbucket:fulfilled:pullrequest": "fulfilled",
  "avi:bitbucket:rejected:pullrequest": "rejected",
} as const;
export const FORGE_LIFECYCLE_EVENTS = ["avi:forge:installed:app", "avi:forge:upgraded:app"] as const;

/** The Bitbucket events Pipelines acts on (any other delivered event is stored as ignored). */
export const FORGE_ACTED_EVENTS = new Set<string>([FORGE_PUSH_EVENT, ...Object.keys(FORGE_PULL_REQUEST_EVENTS)]);
