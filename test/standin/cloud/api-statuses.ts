import { ApiError, fieldError, objectBody, ok, paginate, repoApiPath, tenantRepository, type ApiRequest, type Route } from "./api-route";
import { commitLinks, repositoryMini } from "./objects";
import type { RepositoryRecord } from "./state";
import type { StatusRecord } from "./types";

/** Commit build statuses: POST …/commit/{sha}/statuses/build, GET …/statuses, GET …/statuses/build/{key}. */

const STATES = ["INPROGRESS", "SUCCESSFUL", "FAILED", "STOPPED"] as const;

function statusObject(req: ApiRequest, repo: RepositoryRecord, s: StatusRecord): Record<string, unknown> {
  const { urls } = req.ctx.state;
  const commitUrl = `${urls.api}${repoApiPath(repo)}/commit/${s.commit}`;
  return {
    key: s.key,
    type: "build",
    state: s.state,
    name: s.name,
    refname: s.refname,
    commit: { hash: s.commit, links: commitLinks(urls, repo, s.commit), type: "commit" },
    url: s.url,
    repository: repositoryMini(urls, repo),
    description: s.description,
    created_on: s.createdOn,
    updated_on: s.updatedOn,
    links: { self: { href: `${commitUrl}/statuses/build/${encodeURIComponent(s.key)}` }, commit: { href: commitUrl } },
  };
}

function optionalString(body: Record<string, unknown>, field: string, max: number): string | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw fieldError(field, "This field must be a string.");
  if (v.length > max) throw fieldError(field, `Ensure this value has at most ${max} characters (it has ${v.length}).`);
  return v;
}

async function commitOf(req: ApiRequest, repo: RepositoryRecord, rev: string): Promise<string> {
  const hash = await req.ctx.repos.resolve(repo.gitDir, rev);
  if (!hash) throw new ApiError(404, `Commit not found: ${rev}`);
  return hash;
}

export const statusRoutes: Route[] = [
  {
    method: "POST",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/commit\/([^/]+)\/statuses\/build\/?$/,
    scopes: ["repository"],
    handle: async (req) => {
      const repo = tenantRepository(req, req.params[0], req.params[1]);
      const body = objectBody(req);
      const key = body.key;
      if (typeof key !== "string" || key === "") throw fieldError("key", "This field is required.");
      if (key.length > 40) throw fieldError("key", `Ensure this value has at most 40 characters (it has ${key.length}).`);
      if (typeof body.state !== "string" || !(STATES as readonly string[]).includes(body.state)) {
        throw fieldError("state", `"${String(body.state)}" is not a valid choice; use one of ${STATES.join(", ")}.`);
      }
      if (typeof body.url !== "string" || body.url === "") throw fieldError("url", "This field is required.");
      if (body.url.length > 1024) throw fieldError("url", `Ensure this value has at most 1024 characters (it has ${body.url.length}).`);
      const name = optionalString(body, "name", 255);
      const description = optionalString(body, "description", 1024);
      const refname = optionalString(body, "refname", 255);
      const commit = await commitOf(req, repo, req.params[2]);

      let byKey = repo.statuses.get(commit);
      if (!byKey) {
        byKey = new Map();
        repo.statuses.set(commit, byKey);
      }
      const now = new Date().toISOString();
      const previous = byKey.get(key);
      const record: StatusRecord = {
        key,
        state: body.state as StatusRecord["state"],
        url: body.url,
        name,
        description,
        refname,
        commit,
        repository: `${repo.workspace}/${repo.slug}`,
        clientKey: req.install.clientKey,
        createdOn: previous?.createdOn ?? now,
        updatedOn: now,
      };
      byKey.set(key, record);
      repo.statusHistory.push(record);
      return ok(statusObject(req, repo, record), previous ? 200 : 201);
    },
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/commit\/([^/]+)\/statuses\/?$/,
    scopes: ["repository"],
    handle: async (req) => {
      const repo = tenantRepository(req, req.params[0], req.params[1]);
      const commit = await commitOf(req, repo, req.params[2]);
      const latest = [...(repo.statuses.get(commit)?.values() ?? [])].sort((a, b) => b.updatedOn.localeCompare(a.updatedOn));
      return ok(paginate(req, `${repoApiPath(repo)}/commit/${commit}/statuses`, latest.map((s) => statusObject(req, repo, s))));
    },
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/commit\/([^/]+)\/statuses\/build\/([^/]+)\/?$/,
    scopes: ["repository"],
    handle: async (req) => {
      const repo = tenantRepository(req, req.params[0], req.params[1]);
      const commit = await commitOf(req, repo, req.params[2]);
      const s = repo.statuses.get(commit)?.get(req.params[3]);
      if (!s) throw new ApiError(404, `No build status with key ${req.params[3]} on commit ${commit}.`);
      return ok(statusObject(req, repo, s));
    },
  },
];
