import type { Tenant } from "../../db/models";
import type { CallOutcome } from "../../http/call-outcome";
import { isFullHash, type ParsedDelivery } from "../events";
import { ForgeUnavailableError, type CloneAccess, type CommitInfo, type CommitStatus, type Forge, type RepositoryPerson, type RepositoryWebLinks } from "../forge";
import { cloudAuthor } from "./parse-cloud-event";
import { repoPath, type ApiResponse, type CloudCaller } from "./cloud-caller";

const MAX_FILE_BYTES = 1024 * 1024;

/** What differs between the two doors to Bitbucket Cloud (Connect, OAuth); the REST calls are the same. */
export interface CloudForgeParts {
  /** The API caller of a tenant; `fresh` asks for new credentials first (after a 401). */
  caller(tenant: Tenant, opts?: { fresh?: boolean }): Promise<CloudCaller>;
  parseDelivery(eventKey: string, rawBody: string): ParsedDelivery;
  cloneAccess(tenant: Tenant, repository: string): Promise<CloneAccess>;
  buildPageUrl(tenant: Tenant, repository: string, build: { id: number; number: number }): string;
  /** Bitbucket Cloud's site for the tenant (https://bitbucket.org, or what the tenant was installed from). */
  siteUrl(tenant: Tenant): string;
  /** Whether statuses may be posted now (false: the credentials are known to be refused; nothing is sent). */
  canPost?(tenant: Tenant): Promise<boolean>;
}

/** A Bitbucket query string value (`q=…`) is a quoted string: backslash and quote escaped. */
function quoted(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** A caller with a person's own access token (not the tenant's), on the tenant's API. */
function personCaller(tenant: Tenant, token: string): CloudCaller {
  const base = (tenant.baseApiUrl ?? "").replace(/\/+$/, "");
  return {
    baseApiUrl: base,
    async request(method, pathAndQuery) {
      const res = await fetch(base + pathAndQuery, { method, headers: { Authorization: `Bearer ${token}`, Accept: "application/json" }, signal: AbortSignal.timeout(15_000), redirect: "manual" });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T };
    },
  };
}

/** Whether a page of Bitbucket's `repository_permission` objects says `admin`. */
function saysAdmin(res: ApiResponse): boolean {
  const values = res.json<{ values?: { permission?: unknown }[] }>().values;
  return Array.isArray(values) && values.some((v) => v?.permission === "admin");
}

/** Calls the API; a network failure, a 5xx or a 429 becomes a ForgeUnavailableError (try again later). */
async function call(caller: CloudCaller, method: string, path: string): Promise<ApiResponse> {
  let res: ApiResponse;
  try {
    res = await caller.request(method, path);
  } catch (err) {
    if (err instanceof ForgeUnavailableError) throw err;
    const timeout = (err as Error).name === "TimeoutError";
    if (timeout || (err as Error).name === "TypeError") {
      throw new ForgeUnavailableError(`Bitbucket could not be reached (${(err as Error).message})`, { error: timeout ? "timeout" : "network" });
    }
    throw err;
  }
  if (res.status === 429 || res.status >= 500) {
    throw new ForgeUnavailableError(`Bitbucket answered HTTP ${res.status} to ${method} ${path.split("?")[0]}`, { status: res.status, retryAfter: res.headers.get("retry-after") });
  }
  return res;
}

/** Bitbucket Cloud's REST side of the Forge interface (files, commits, statuses), shared by Connect and OAuth. */
export function cloudRestForge(parts: CloudForgeParts): Forge {
  async function describe(tenant: Tenant, repository: string, hash: string): Promise<CommitInfo | null> {
    const res = await call(await parts.caller(tenant), "GET", `${repoPath(repository)}/commit/${encodeURIComponent(hash)}`);
    if (res.status === 404) return null;
    if (res.status !== 200) throw new Error(`Bitbucket answered HTTP ${res.status} when Pipelines looked up commit ${hash}`);
    const body = res.json<{ hash?: unknown; message?: unknown; author?: unknown }>();
    const full = body.hash;
    // `hash` may also be a branch name (a build started by hand): only an abbreviated hash must prefix the answer.
    if (!isFullHash(full) || (/^[0-9a-f]+$/.test(hash) && !full.startsWith(hash))) throw new Error(`Bitbucket answered commit ${String(full)} for ${hash}`);
    return { commit: full, message: typeof body.message === "string" ? body.message : null, author: cloudAuthor(body.author) };
  }
  return {
    parseDelivery: parts.parseDelivery,
    cloneAccess: parts.cloneAccess,
    buildPageUrl: parts.buildPageUrl,

    async readFile(tenant, repository, commit, path) {
      const res = await call(await parts.caller(tenant), "GET", `${repoPath(repository)}/src/${encodeURIComponent(commit)}/${path.split("/").map(encodeURIComponent).join("/")}`);
      if (res.status === 404) return null;
      if (res.status !== 200) throw new Error(`Bitbucket answered HTTP ${res.status} when Pipelines read ${path} at ${commit.slice(0, 12)}`);
      if (Buffer.byteLength(res.text) > MAX_FILE_BYTES) throw new Error(`${path} is larger than 1 MiB`);
      return res.text;
    },

    async resolveCommit(tenant, repository, hash) {
      return (await describe(tenant, repository, hash))?.commit ?? null;
    },

    describeCommit: describe,

    webLinks(tenant, repository): RepositoryWebLinks {
      const page = `${parts.siteUrl(tenant).replace(/\/+$/, "")}/${repository.split("/").map(encodeURIComponent).join("/")}`;
      return {
        commit: (hash) => `${page}/commits/${encodeURIComponent(hash)}`,
        branch: (name) => `${page}/branch/${name.split("/").map(encodeURIComponent).join("/")}`,
        tag: (name) => `${page}/src/${encodeURIComponent(name)}`,
        pullRequest: (id) => `${page}/pull-requests/${id}`,
      };
    },

    async postStatus(tenant, repository, commit, status: CommitStatus, opts = {}): Promise<CallOutcome> {
      // Credentials known to be refused: nothing is sent; the 401 ends the series (no stale credentials go out).
      if (parts.canPost && !(await parts.canPost(tenant))) return { status: 401 };
      let res: ApiResponse;
      try {
        const caller = await parts.caller(tenant, { fresh: opts.refreshCredentials });
        res = await caller.request("POST", `${repoPath(repository)}/commit/${commit}/statuses/build`, {
          body: {
            key: status.key,
            state: status.state,
            name: status.name.slice(0, 255),
            description: status.description.slice(0, 1024),
            url: status.url,
            ...(status.refname ? { refname: status.refname } : {}),
          },
        });
      } catch (err) {
        if (err instanceof ForgeUnavailableError) return err.outcome;
        if ((err as Error).name === "TimeoutError") return { error: "timeout" };
        if ((err as Error).name === "TypeError") return { error: "network" };
        // Credentials that cannot be had (a refused refresh): final, like a second 401.
        return { status: 401 };
      }
      return { status: res.status, retryAfter: res.headers.get("retry-after") };
    },

    async isRepositoryAdmin(tenant, repository, person: RepositoryPerson) {
      const [workspace, slug] = repository.split("/");
      let res: ApiResponse;
      if (person.kind === "cloud-account") {
        const q = encodeURIComponent(`user.account_id=${quoted(person.accountId)}`);
        res = await call(await parts.caller(tenant), "GET", `/2.0/workspaces/${encodeURIComponent(workspace)}/permissions/repositories/${encodeURIComponent(slug)}?q=${q}`);
      } else if (person.kind === "cloud-token") {
        const q = encodeURIComponent(`repository.full_name=${quoted(repository)}`);
        res = await call(personCaller(tenant, person.token), "GET", `/2.0/user/permissions/repositories?q=${q}`);
      } else return false;
      if (res.status !== 200) {
        let detail = "";
        try {
          detail = res.json<{ error?: { message?: string } }>().error?.message ?? "";
        } catch {
          /* not JSON */
        }
        throw new Error(`Bitbucket did not say whether you administer ${repository} (HTTP ${res.status}${detail ? `: ${detail}` : ""})`);
      }
      return saysAdmin(res);
    },

    async countCommits(tenant, repository, base, head, limit) {
      const caller = await parts.caller(tenant);
      let count = 0;
      let next: string | null = `${repoPath(repository)}/commits?include=${encodeURIComponent(head)}&exclude=${encodeURIComponent(base)}&pagelen=100`;
      for (let page = 0; next && count < limit && page < 50; page++) {
        const res = await call(caller, "GET", next);
        if (res.status === 404) return null;
        if (res.status !== 200) throw new Error(`Bitbucket answered HTTP ${res.status} when Pipelines counted the commits since ${base.slice(0, 12)}`);
        const body = res.json<{ values?: unknown[]; next?: unknown }>();
        count += Array.isArray(body.values) ? body.values.length : 0;
        const link = typeof body.next === "string" ? body.next : null;
        next = link && link.startsWith(caller.baseApiUrl + "/") ? link.slice(caller.baseApiUrl.length) : null;
      }
      return Math.min(count, limit);
    },
  };
}
