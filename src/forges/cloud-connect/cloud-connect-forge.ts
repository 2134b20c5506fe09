import type { Models, Tenant } from "../../db/models";
import type { CallOutcome } from "../../builds/retry-policy";
import { parseCloudEvent } from "../cloud/parse-cloud-event";
import { MalformedEventError, isFullHash, type ParsedDelivery } from "../events";
import { ForgeUnavailableError, type CloneAccess, type CommitStatus, type Forge } from "../forge";
import { cloudApiRequest, type ApiResponse } from "./cloud-api";
import { connectApiTenant } from "./connect-api-tenant";
import { jwtGrantToken } from "./jwt-grant";

const MAX_FILE_BYTES = 1024 * 1024;

function repoPath(repository: string): string {
  const [workspace, slug] = repository.split("/");
  return `/2.0/repositories/${encodeURIComponent(workspace)}/${encodeURIComponent(slug)}`;
}

/** Calls the API; a network failure, a 5xx or a 429 becomes a ForgeUnavailableError (try again later). */
async function call(tenant: Tenant, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  let res: ApiResponse;
  try {
    res = await cloudApiRequest(connectApiTenant(tenant), method, path, body === undefined ? {} : { body });
  } catch (err) {
    const timeout = (err as Error).name === "TimeoutError";
    throw new ForgeUnavailableError(`Bitbucket could not be reached (${(err as Error).message})`, { error: timeout ? "timeout" : "network" });
  }
  if (res.status === 429 || res.status >= 500) {
    throw new ForgeUnavailableError(`Bitbucket answered HTTP ${res.status} to ${method} ${path.split("?")[0]}`, { status: res.status, retryAfter: res.headers.get("retry-after") });
  }
  return res;
}

/** Bitbucket Cloud through a Connect installation: API calls signed with the app's JWT, git with a JWT-grant token. */
export function cloudConnectForge(models: Models): Forge {
  return {
    parseDelivery(eventKey: string, rawBody: string): ParsedDelivery {
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch (err) {
        throw new MalformedEventError(`the delivery is not JSON (${(err as Error).message})`);
      }
      const data = body && typeof body === "object" && !Array.isArray(body) ? (body as { data?: unknown }).data : undefined;
      return parseCloudEvent(eventKey, data);
    },

    async readFile(tenant, repository, commit, path) {
      const res = await call(tenant, "GET", `${repoPath(repository)}/src/${encodeURIComponent(commit)}/${path.split("/").map(encodeURIComponent).join("/")}`);
      if (res.status === 404) return null;
      if (res.status !== 200) throw new Error(`Bitbucket answered HTTP ${res.status} when Pipelines read ${path} at ${commit.slice(0, 12)}`);
      if (Buffer.byteLength(res.text) > MAX_FILE_BYTES) throw new Error(`${path} is larger than 1 MiB`);
      return res.text;
    },

    async resolveCommit(tenant, repository, hash) {
      const res = await call(tenant, "GET", `${repoPath(repository)}/commit/${encodeURIComponent(hash)}`);
      if (res.status === 404) return null;
      if (res.status !== 200) throw new Error(`Bitbucket answered HTTP ${res.status} when Pipelines looked up commit ${hash}`);
      const full = res.json<{ hash?: unknown }>().hash;
      // `hash` may also be a branch name (a build started by hand): only an abbreviated hash must prefix the answer.
      if (!isFullHash(full) || (/^[0-9a-f]+$/.test(hash) && !full.startsWith(hash))) throw new Error(`Bitbucket answered commit ${String(full)} for ${hash}`);
      return full;
    },

    async cloneAccess(tenant, repository): Promise<CloneAccess> {
      const token = await jwtGrantToken(models, tenant, connectApiTenant(tenant));
      const basic = Buffer.from(`x-token-auth:${token}`).toString("base64");
      return { url: `${tenant.baseUrl.replace(/\/+$/, "")}/${repository}.git`, extraHeader: `Authorization: Basic ${basic}` };
    },

    buildPageUrl(tenant, repository, build) {
      // The repository page module of the descriptor ("pipelines-builds"), opened inside Bitbucket.
      return `${tenant.baseUrl.replace(/\/+$/, "")}/${repository}/addon/${encodeURIComponent(tenant.appKey ?? "")}/pipelines-builds?build=${build.id}`;
    },

    async postStatus(tenant, repository, commit, status: CommitStatus): Promise<CallOutcome> {
      let res: ApiResponse;
      try {
        res = await cloudApiRequest(connectApiTenant(tenant), "POST", `${repoPath(repository)}/commit/${commit}/statuses/build`, {
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
        return { error: (err as Error).name === "TimeoutError" ? "timeout" : "network" };
      }
      return { status: res.status, retryAfter: res.headers.get("retry-after") };
    },
  };
}
