import type { Request, Response } from "express";
import { callJobs, type RunnerApiDeps } from "./runner-api-deps";
import { bodyObject, jobIdParam, leaseToken } from "./runner-input";

/**
 * POST /runner/jobs/:jobId/release `{leaseToken}` — the runner is shutting down and gives the job back unfinished;
 * it is queued again at once without counting as a lost runner. 204.
 */
export function jobReleasePost(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const body = bodyObject(req);
    const lease = { jobId: jobIdParam(req), leaseToken: leaseToken(body.leaseToken) };
    await callJobs(() => deps.jobs.release(lease));
    res.status(204).end();
  };
}
