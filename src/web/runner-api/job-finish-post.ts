import type { Request, Response } from "express";
import { callJobs, type RunnerApiDeps } from "./runner-api-deps";
import { bodyObject, jobIdParam, leaseToken, pausedAt } from "./runner-input";

/**
 * POST /runner/jobs/:jobId/finish `{leaseToken, pausedAt?}` — the job ended (out of steps, a step failed, the build
 * was stopped, or it stopped before the manual step `pausedAt`). The lease ends with it. 204.
 */
export function jobFinishPost(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const body = bodyObject(req);
    const lease = { jobId: jobIdParam(req), leaseToken: leaseToken(body.leaseToken) };
    const at = pausedAt(body.pausedAt);
    await callJobs(() => deps.jobs.jobFinished(lease, at === undefined ? {} : { pausedAt: at }));
    res.status(204).end();
  };
}
