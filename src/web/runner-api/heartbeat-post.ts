import type { Request, Response } from "express";
import { callJobs, type RunnerApiDeps } from "./runner-api-deps";
import { bodyObject, jobIdParam, leaseToken } from "./runner-input";

/** POST /runner/jobs/:jobId/heartbeat `{leaseToken}` — renews the lease: `{stop}` (true: stop the running step). */
export function heartbeatPost(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const lease = { jobId: jobIdParam(req), leaseToken: leaseToken(bodyObject(req).leaseToken) };
    const { stop } = await callJobs(() => deps.jobs.heartbeat(lease));
    res.json({ stop });
  };
}
