import type { Application, Tenant } from "../../db/models";
import { connectCaller } from "../../forges/cloud-connect/cloud-connect-forge";
import { fetchRepository } from "../../forges/cloud-connect/fetch-repository";
import type { Logger } from "../../log/logger";

/** Per application: when this process last asked Bitbucket for a main branch it did not know. */
const asked = new Map<number, number>();
const ASK_AGAIN_MS = 10 * 60_000;

/**
 * The application's main branch as stored (learnt when the application was made). When it is not known (an
 * application older than the column, or a repository that had no branch yet), Bitbucket is asked in the background —
 * at most once per ten minutes per application and process — and the answer stored for the next page; this page
 * goes on without it. Pages never wait on Bitbucket.
 */
export function knownMainBranch(app: Application, tenant: Tenant, log: Logger): string | null {
  if (app.mainBranch) return app.mainBranch;
  // Only a Connect installation can ask here (its JWT needs nothing else); OAuth applications learn it when they are
  // made, and Bitbucket Server has no main-branch field in the same place.
  if (tenant.kind !== "cloud-connect") return null;
  const last = asked.get(app.id);
  if (last !== undefined && Date.now() - last < ASK_AGAIN_MS) return null;
  asked.set(app.id, Date.now());
  Promise.resolve()
    .then(() => fetchRepository(connectCaller(tenant), app.repository))
    .then(async (info) => {
      if (info?.mainBranch) await app.update({ mainBranch: info.mainBranch });
    })
    .catch((err: unknown) => log.warn("could not learn the main branch", { repository: app.repository, err }));
  return null;
}
