import { ApiError, fieldError, objectBody, ok, paginate, repoApiPath, tenantRepository, type ApiRequest, type Route } from "./api-route";
import { bracedUuid } from "./ids";
import { repositoryMini } from "./objects";
import { scopeForEvent } from "./scopes";
import type { HookRecord, RepositoryRecord } from "./state";

/** Repository webhook subscriptions: POST/GET …/hooks, GET/DELETE …/hooks/{uid}. */

const KNOWN_EVENTS = new Set([
  "repo:push",
  "repo:fork",
  "repo:updated",
  "repo:commit_comment_created",
  "repo:commit_status_created",
  "repo:commit_status_updated",
  "repo:imported",
  "repo:deleted",
  "pullrequest:created",
  "pullrequest:updated",
  "pullrequest:approved",
  "pullrequest:unapproved",
  "pullrequest:changes_request_created",
  "pullrequest:changes_request_removed",
  "pullrequest:fulfilled",
  "pullrequest:rejected",
  "pullrequest:comment_created",
  "pullrequest:comment_updated",
  "pullrequest:comment_deleted",
  "pullrequest:comment_resolved",
  "pullrequest:comment_reopened",
  "issue:created",
  "issue:updated",
  "issue:comment_created",
]);

function hookObject(req: ApiRequest, repo: RepositoryRecord, h: HookRecord): Record<string, unknown> {
  return {
    type: "webhook_subscription",
    uuid: h.uuid,
    description: h.description,
    url: h.url,
    active: h.active,
    skip_cert_verification: false,
    events: h.events,
    created_at: h.createdAt,
    subject: { type: "repository", ...repositoryMini(req.ctx.state.urls, repo) },
    links: { self: { href: `${req.ctx.state.urls.api}${repoApiPath(repo)}/hooks/${encodeURIComponent(h.uuid)}` } },
    source: null,
    read_only: false,
    history_enabled: false,
    secret_set: h.secretSet,
  };
}

function findHook(repo: RepositoryRecord, uid: string): HookRecord {
  const h = repo.hooks.get(uid) ?? repo.hooks.get(`{${uid.replace(/[{}]/g, "")}}`);
  if (!h) throw new ApiError(404, `No webhook subscription with uuid ${uid}.`);
  return h;
}

function eventsOf(body: unknown): string[] {
  const events = body && typeof body === "object" ? (body as Record<string, unknown>).events : undefined;
  return Array.isArray(events) ? events.filter((e): e is string => typeof e === "string") : [];
}

export const hookRoutes: Route[] = [
  {
    method: "POST",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/hooks\/?$/,
    // Creating a subscription needs `webhook` and read access to what it subscribes to.
    scopes: (req) => ["webhook", ...new Set(eventsOf(req.body).map(scopeForEvent).filter((s): s is string => s !== null))],
    handle: (req) => {
      const repo = tenantRepository(req, req.params[0], req.params[1]);
      const body = objectBody(req);
      if (typeof body.url !== "string" || !/^https?:\/\/[^\s]+$/i.test(body.url)) throw fieldError("url", "Enter a valid URL.");
      const events = body.events;
      if (!Array.isArray(events) || events.length === 0) throw fieldError("events", "This field is required.");
      for (const e of events) if (typeof e !== "string" || !KNOWN_EVENTS.has(e)) throw fieldError("events", `"${String(e)}" is not a valid event.`);
      if (body.description !== undefined && typeof body.description !== "string") throw fieldError("description", "This field must be a string.");
      const hook: HookRecord = {
        uuid: bracedUuid(),
        description: (body.description as string | undefined) ?? "",
        url: body.url,
        active: body.active === undefined ? true : Boolean(body.active),
        events: [...new Set(events as string[])],
        secretSet: typeof body.secret === "string" && body.secret !== "",
        secret: typeof body.secret === "string" && body.secret !== "" ? body.secret : null,
        createdAt: new Date().toISOString(),
        clientKey: req.install.clientKey,
      };
      repo.hooks.set(hook.uuid, hook);
      return ok(hookObject(req, repo, hook), 201);
    },
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/hooks\/?$/,
    scopes: ["webhook"],
    handle: (req) => {
      const repo = tenantRepository(req, req.params[0], req.params[1]);
      return ok(paginate(req, `${repoApiPath(repo)}/hooks`, [...repo.hooks.values()].map((h) => hookObject(req, repo, h))));
    },
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/hooks\/([^/]+)\/?$/,
    scopes: ["webhook"],
    handle: (req) => {
      const repo = tenantRepository(req, req.params[0], req.params[1]);
      return ok(hookObject(req, repo, findHook(repo, req.params[2])));
    },
  },
  {
    method: "DELETE",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/hooks\/([^/]+)\/?$/,
    scopes: ["webhook"],
    handle: (req) => {
      const repo = tenantRepository(req, req.params[0], req.params[1]);
      repo.hooks.delete(findHook(repo, req.params[2]).uuid);
      return { status: 204 };
    },
  },
];
