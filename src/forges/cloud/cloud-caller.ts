import type { ApiResponse } from "../cloud-connect/cloud-api";

export type { ApiResponse };

/**
 * Calls one tenant's Bitbucket Cloud REST API with whatever credentials its kind uses (a Connect JWT per call, or
 * an OAuth bearer token). Rejects only when no answer arrived (network error, timeout) or the credentials cannot
 * be had at all; every HTTP answer is returned.
 */
export interface CloudCaller {
  baseApiUrl: string;
  request(method: string, pathAndQuery: string, opts?: { body?: unknown; timeoutMs?: number }): Promise<ApiResponse>;
}

/** `/2.0/repositories/{workspace}/{slug}`, each part encoded. */
export function repoPath(repository: string): string {
  const [workspace, slug] = repository.split("/");
  return `/2.0/repositories/${encodeURIComponent(workspace)}/${encodeURIComponent(slug)}`;
}
