import { serverMessage, serverRequest, type ServerCredentials } from "../../forges/server/server-api";

const PAGE = 100;
/** A bound on what a session remembers (a Server can hold tens of thousands of repositories). */
export const MAX_READABLE = 5_000;

/**
 * The repositories the signing-in USER can read (`GET /rest/api/1.0/repos?permission=REPO_READ` with the user's own
 * credentials, every page), as `PROJECT/slug`, up to MAX_READABLE.
 */
export function readableRepositories(c: ServerCredentials): Promise<string[]> {
  return repositoriesWith(c, "REPO_READ");
}

/** The repositories the signing-in USER administers (REPO_ADMIN: they may deploy to admins-only environments). */
export function administeredRepositories(c: ServerCredentials): Promise<string[]> {
  return repositoriesWith(c, "REPO_ADMIN");
}

async function repositoriesWith(c: ServerCredentials, permission: "REPO_READ" | "REPO_ADMIN"): Promise<string[]> {
  const out: string[] = [];
  for (let start = 0; ; ) {
    const res = await serverRequest(c, "GET", `/rest/api/1.0/repos?permission=${permission}&start=${start}&limit=${PAGE}`);
    if (res.status !== 200) throw new Error(`the server answered HTTP ${res.status} when listing your repositories: ${serverMessage(res)}`);
    const page = res.json<{ values?: { slug?: string; project?: { key?: string } }[]; isLastPage?: boolean; nextPageStart?: number }>();
    for (const r of page.values ?? []) {
      if (r.slug && r.project?.key) out.push(`${r.project.key}/${r.slug}`);
      if (out.length >= MAX_READABLE) return out;
    }
    if (page.isLastPage !== false || typeof page.nextPageStart !== "number" || page.nextPageStart <= start) return out;
    start = page.nextPageStart;
  }
}
