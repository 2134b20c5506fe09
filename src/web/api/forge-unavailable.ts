import { ForgeUnavailableError } from "../../forges/forge";
import { HttpError } from "../../http/http-error";

/** Runs `work`; Bitbucket not answering now becomes a 503 (with Retry-After) instead of a 500. */
export async function unlessBitbucketUnavailable<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ForgeUnavailableError) throw new HttpError(503, `Bitbucket cannot answer now; try again shortly (${err.message})`, { "Retry-After": "30" });
    throw err;
  }
}
