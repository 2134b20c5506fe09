import { HttpError } from "../../http/http-error";
import type { CloudCaller } from "../cloud/cloud-caller";

export interface RepositoryInfo {
  fullName: string;
  uuid: string;
  cloneUrls: { name: string; href: string }[];
  mainBranch: string | null;
}

/**
 * Asks Bitbucket about a repository. Returns null when Bitbucket does not know it (404) or the installation may
 * not see it (403); any other failure is a 502 naming Bitbucket's answer.
 */
export async function fetchRepository(api: CloudCaller, fullName: string): Promise<RepositoryInfo | null> {
  const [workspace, slug] = fullName.split("/");
  let res;
  try {
    res = await api.request("GET", `/2.0/repositories/${encodeURIComponent(workspace)}/${encodeURIComponent(slug)}`);
  } catch (err) {
    throw new HttpError(502, `Bitbucket could not be reached (${(err as Error).message})`);
  }
  if (res.status === 404 || res.status === 403) return null;
  if (res.status !== 200) throw new HttpError(502, `Bitbucket answered HTTP ${res.status} for repository ${fullName}`);
  const body = res.json<{ full_name?: string; uuid?: string; links?: { clone?: { name: string; href: string }[] }; mainbranch?: { name?: string } | null }>();
  if (!body.full_name || !body.uuid) throw new HttpError(502, `Bitbucket's answer for ${fullName} has no full_name/uuid`);
  return { fullName: body.full_name, uuid: body.uuid, cloneUrls: body.links?.clone ?? [], mainBranch: body.mainbranch?.name ?? null };
}
