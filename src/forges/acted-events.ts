/** The webhook events Pipelines acts on; any other event is answered 2xx and recorded as ignored. */
export const ACTED_EVENTS = new Set(["repo:push", "pullrequest:created", "pullrequest:updated", "pullrequest:fulfilled", "pullrequest:rejected"]);
