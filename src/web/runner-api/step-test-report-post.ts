import type { Request, Response } from "express";
import { callJobs, type RunnerApiDeps } from "./runner-api-deps";
import { bodyObject, jobIdParam, leaseToken, stepIndexParam, testReportOf } from "./runner-input";

/**
 * POST /runner/jobs/:jobId/steps/:step/test-report `{leaseToken, report: {files, passed, failed, skipped, failures,
 * unreadable}}` — what the step's JUnit/xUnit reports say; replaces what was stored for the step. 204.
 */
export function stepTestReportPost(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const body = bodyObject(req);
    const lease = { jobId: jobIdParam(req), leaseToken: leaseToken(body.leaseToken) };
    const step = stepIndexParam(req);
    const report = testReportOf(body);
    await callJobs(() => deps.jobs.testReport(lease, step, report));
    res.status(204).end();
  };
}
