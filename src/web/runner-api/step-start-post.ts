import type { Request, Response } from "express";
import { callJobs, type RunnerApiDeps } from "./runner-api-deps";
import { bodyObject, jobIdParam, leaseToken, stepIndexParam, stepStartInfo } from "./runner-input";

/**
 * POST /runner/jobs/:jobId/steps/:step/start `{leaseToken}` — the step starts: the StepStartAnswer (`stop`, and
 * `oidcToken` when the step asked for OIDC; `env`/`secrets` of a deployment step; `gate` when it does not run now).
 * It may carry credentials: the runner API answers `no-store`, nothing logs it.
 */
export function stepStartPost(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const body = bodyObject(req);
    const lease = { jobId: jobIdParam(req), leaseToken: leaseToken(body.leaseToken) };
    const step = stepIndexParam(req);
    const info = stepStartInfo(body);
    res.json(await callJobs(() => deps.jobs.stepStarted(lease, step, info)));
  };
}
