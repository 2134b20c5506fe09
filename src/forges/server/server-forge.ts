import type { Models, Tenant } from "../../db/models";
import type { CallOutcome } from "../../http/call-outcome";
import { MalformedEventError, isFullHash, type ParsedDelivery } from "../events";
import { ForgeUnavailableError, authorName, type CloneAccess, type CommitInfo, type CommitStatus, type Forge, type RepositoryPerson, type RepositoryWebLinks, type TaggedCommit } from "../forge";
import { tenantSshPrivateKey } from "../../tenants/ssh-key-store";
import { parseServerEvent } from "./parse-server-event";
import { pinnedKnownHosts, sshHostOf } from "./pin-host-key";
import { repoPath, serverAuthorization, serverRequest, type ServerResponse } from "./server-api";
import { credentialsOf, serverConnectionOf } from "./server-connections";

const MAX_FILE_BYTES = 1024 * 1024;

/** Field limits of Server's build status API (longer values are refused with 400). */
export const STATUS_LIMITS = { key: 255, name: 255, description: 255, url: 450 };

/** Server's states: Cloud's STOPPED is CANCELLED there. */
const STATE: Record<CommitStatus["state"], string> = { INPROGRESS: "INPROGRESS", SUCCESSFUL: "SUCCESSFUL", FAILED: "FAILED", STOPPED: "CANCELLED" };

/** Calls the server; no answer, a 5xx or a 429 becomes a ForgeUnavailableError (try again later). */
async function call(models: Models, tenant: Tenant, method: string, path: string): Promise<ServerResponse> {
  const creds = credentialsOf(await serverConnectionOf(models, tenant));
  let res: ServerResponse;
  try {
    res = await serverRequest(creds, method, path);
  } catch (err) {
    throw new ForgeUnavailableError(`Bitbucket Server could not be reached (${(err as Error).message})`, { error: (err as Error).name === "TimeoutError" ? "timeout" : "network" });
  }
  if (res.status === 429 || res.status >= 500) {
    throw new ForgeUnavailableError(`Bitbucket Server answered HTTP ${res.status} to ${method} ${path.split("?")[0]}`, { status: res.status, retryAfter: res.headers.get("retry-after") });
  }
  return res;
}

/**
 * Bitbucket Server / Data Center through stored credentials: REST with Basic or Bearer, git over SSH (or HTTP).
 * `baseUrl` is the service's public URL: statuses link to the repository's builds page behind the Server login.
 */
export function serverForge(models: Models, baseUrl?: string): Forge {
  async function describe(tenant: Tenant, repository: string, hash: string): Promise<CommitInfo | null> {
    const res = await call(models, tenant, "GET", `${repoPath(repository)}/commits/${encodeURIComponent(hash)}`);
    if (res.status === 404) return null;
    if (res.status !== 200) throw new Error(`Bitbucket Server answered HTTP ${res.status} when Pipelines looked up commit ${hash}`);
    const body = res.json<{ id?: unknown; message?: unknown; author?: { displayName?: unknown; name?: unknown } }>();
    const full = body.id;
    if (!isFullHash(full) || (/^[0-9a-f]+$/.test(hash) && !full.startsWith(hash))) throw new Error(`Bitbucket Server answered commit ${String(full)} for ${hash}`);
    const author = authorName(body.author?.displayName) ?? authorName(body.author?.name);
    return { commit: full, message: typeof body.message === "string" ? body.message : null, author };
  }
  return {
    parseDelivery(eventKey: string, rawBody: string): ParsedDelivery {
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch (err) {
        throw new MalformedEventError(`the delivery is not JSON (${(err as Error).message})`);
      }
      return parseServerEvent(eventKey, body);
    },

    async readFile(tenant, repository, commit, path) {
      const res = await call(models, tenant, "GET", `${repoPath(repository)}/raw/${path.split("/").map(encodeURIComponent).join("/")}?at=${encodeURIComponent(commit)}`);
      if (res.status === 404) return null;
      if (res.status !== 200) throw new Error(`Bitbucket Server answered HTTP ${res.status} when Pipelines read ${path} at ${commit.slice(0, 12)}`);
      if (Buffer.byteLength(res.text) > MAX_FILE_BYTES) throw new Error(`${path} is larger than 1 MiB`);
      return res.text;
    },

    async resolveCommit(tenant, repository, hash) {
      return (await describe(tenant, repository, hash))?.commit ?? null;
    },

    describeCommit: describe,

    webLinks(tenant, repository): RepositoryWebLinks {
      const [key, slug] = repository.split("/");
      const repo = `${tenant.baseUrl.replace(/\/+$/, "")}/projects/${encodeURIComponent(key)}/repos/${encodeURIComponent(slug)}`;
      return {
        commit: (hash) => `${repo}/commits/${encodeURIComponent(hash)}`,
        branch: (name) => `${repo}/browse?at=${encodeURIComponent(`refs/heads/${name}`)}`,
        tag: (name) => `${repo}/browse?at=${encodeURIComponent(`refs/tags/${name}`)}`,
        pullRequest: (id) => `${repo}/pull-requests/${id}/overview`,
      };
    },

    async resolveTag(tenant, repository, tag, value): Promise<TaggedCommit | null> {
      // Server's tag resource: `latestCommit` is the commit the tag points at (an annotated tag peeled), `hash` the
      // annotated tag object's id (null for a lightweight tag). The tag name keeps its slashes (`tags/{name:.*}`).
      const res = await call(models, tenant, "GET", `${repoPath(repository)}/tags/${tag.split("/").map(encodeURIComponent).join("/")}`);
      if (res.status === 404) return null;
      if (res.status !== 200) throw new Error(`Bitbucket Server answered HTTP ${res.status} when Pipelines looked up tag "${tag}"`);
      const found = res.json<{ latestCommit?: unknown; hash?: unknown }>();
      if (!isFullHash(found.latestCommit)) throw new Error(`Bitbucket Server answered commit ${String(found.latestCommit)} for tag "${tag}"`);
      // Moved since the push (or deleted and made again): the pushed value is not what the tag holds now.
      if (found.hash !== value && found.latestCommit !== value) return null;
      const commit = await call(models, tenant, "GET", `${repoPath(repository)}/commits/${found.latestCommit}`);
      if (commit.status === 404) return null;
      if (commit.status !== 200) throw new Error(`Bitbucket Server answered HTTP ${commit.status} when Pipelines looked up commit ${found.latestCommit}`);
      const { id, message } = commit.json<{ id?: unknown; message?: unknown }>();
      if (id !== found.latestCommit) throw new Error(`Bitbucket Server answered commit ${String(id)} for ${found.latestCommit}`);
      return { commit: found.latestCommit, message: typeof message === "string" ? message : null };
    },

    async cloneAccess(tenant, repository): Promise<CloneAccess> {
      const conn = await serverConnectionOf(models, tenant);
      const [key, slug] = repository.split("/");
      if (conn.cloneProtocol === "http") {
        // The HTTP fallback: `<host>/scm/<project>/<repo>.git` with the stored credentials in the header.
        return { url: `${conn.host}/scm/${encodeURIComponent(key.toLowerCase())}/${encodeURIComponent(slug)}.git`, extraHeader: `Authorization: ${serverAuthorization(credentialsOf(conn))}` };
      }
      let knownHosts: string;
      try {
        knownHosts = await pinnedKnownHosts(conn);
      } catch (err) {
        throw new ForgeUnavailableError((err as Error).message, { error: "network" });
      }
      const { hostname } = sshHostOf(conn);
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      return {
        url: `ssh://${conn.sshUser}@${host}:${conn.sshPort}/${encodeURIComponent(key.toLowerCase())}/${encodeURIComponent(slug)}.git`,
        extraHeader: null,
        ssh: { privateKey: await tenantSshPrivateKey(models, tenant), port: conn.sshPort, knownHosts, hostKeyFingerprint: conn.hostKeyFingerprint },
      };
    },

    buildPageUrl(tenant, repository, build) {
      // The build on the repository's builds page (the Server user signs in with their Server credentials).
      // (The same address as serverBuildsPath of src/web/server-login/server-paths.ts.)
      const [key, slug] = repository.split("/");
      if (baseUrl) return `${baseUrl.replace(/\/+$/, "")}/server/${tenant.id}/${encodeURIComponent(key)}/${encodeURIComponent(slug)}/builds?build=${build.id}`;
      // Without the service's URL (a forge made outside the service): the repository's commits on the Server.
      return `${tenant.baseUrl.replace(/\/+$/, "")}/projects/${encodeURIComponent(key)}/repos/${encodeURIComponent(slug)}/commits`;
    },

    async isRepositoryAdmin(_tenant, repository, person: RepositoryPerson) {
      // The Server answered this to the person's own credentials at sign-in (they are never kept to ask again).
      if (person.kind !== "server-sign-in") return false;
      return person.adminRepositories.some((r) => r.toLowerCase() === repository.toLowerCase());
    },

    async countCommits(tenant, repository, base, head, limit) {
      let count = 0;
      for (let start = 0, page = 0; count < limit && page < 50; page++) {
        const res = await call(models, tenant, "GET", `${repoPath(repository)}/commits?since=${encodeURIComponent(base)}&until=${encodeURIComponent(head)}&start=${start}&limit=100`);
        if (res.status === 404) return null;
        if (res.status !== 200) throw new Error(`Bitbucket Server answered HTTP ${res.status} when Pipelines counted the commits since ${base.slice(0, 12)}`);
        const body = res.json<{ values?: unknown[]; isLastPage?: boolean; nextPageStart?: number }>();
        count += Array.isArray(body.values) ? body.values.length : 0;
        if (body.isLastPage !== false || typeof body.nextPageStart !== "number" || body.nextPageStart <= start) break;
        start = body.nextPageStart;
      }
      return Math.min(count, limit);
    },

    async postStatus(tenant, repository, commit, status: CommitStatus): Promise<CallOutcome> {
      let creds;
      try {
        creds = credentialsOf(await serverConnectionOf(models, tenant));
      } catch {
        return { status: 404 };
      }
      const body = {
        key: status.key.slice(0, STATUS_LIMITS.key),
        state: STATE[status.state],
        name: status.name.slice(0, STATUS_LIMITS.name),
        description: status.description.slice(0, STATUS_LIMITS.description),
        url: status.url.slice(0, STATUS_LIMITS.url),
      };
      try {
        // No `ref`: a status names a branch or a tag by its short name only, and Server wants the full ref.
        let res = await serverRequest(creds, "POST", `${repoPath(repository, "/rest/api/latest")}/commits/${commit}/builds`, body);
        // Servers before 7.4 have only the legacy build-status API.
        if (res.status === 404) res = await serverRequest(creds, "POST", `/rest/build-status/1.0/commits/${commit}`, body);
        return { status: res.status, retryAfter: res.headers.get("retry-after") };
      } catch (err) {
        return { error: (err as Error).name === "TimeoutError" ? "timeout" : "network" };
      }
    },
  };
}
