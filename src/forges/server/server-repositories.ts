import { serverMessage, serverRequest, type ServerCredentials } from "./server-api";

export interface ServerRepository {
  /** `PROJECT/slug`, what `pipelines server enable --repository` takes. */
  fullName: string;
  name: string;
  projectName: string | null;
}

const PAGE = 100;
/** A bound on what is listed (a Server can hold tens of thousands of repositories). */
const MAX = 5_000;

/** The repositories the connection's user can see (`GET /rest/api/1.0/repos`, every page), up to 5,000. */
export async function listServerRepositories(c: ServerCredentials): Promise<{ repositories: ServerRepository[]; truncated: boolean }> {
  const repositories: ServerRepository[] = [];
  for (let start = 0; ; ) {
    const res = await serverRequest(c, "GET", `/rest/api/1.0/repos?start=${start}&limit=${PAGE}`);
    if (res.status !== 200) throw new Error(`the server answered HTTP ${res.status} when listing repositories: ${serverMessage(res)}`);
    const page = res.json<{ values?: { slug?: string; name?: string; project?: { key?: string; name?: string } }[]; isLastPage?: boolean; nextPageStart?: number }>();
    for (const r of page.values ?? []) {
      if (!r.slug || !r.project?.key) continue;
      repositories.push({ fullName: `${r.project.key}/${r.slug}`, name: r.name ?? r.slug, projectName: r.project.name ?? null });
      if (repositories.length >= MAX) return { repositories, truncated: true };
    }
    if (page.isLastPage !== false || typeof page.nextPageStart !== "number" || page.nextPageStart <= start) return { repositories, truncated: false };
    start = page.nextPageStart;
  }
}
