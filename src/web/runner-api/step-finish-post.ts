import type { Request, Response } from "express";
import { callJobs, type RunnerApiDeps } from "./runner-api-deps";
import { bodyObject, exitCode, jobIdParam, leaseToken, outputVariables, stepIndexParam, stepState } from "./runner-input";

/** POST /runner/jobs/:jobId/steps/:step/finish `{leaseToken, state, exitCode, outputVariables?}` — how the step ended. 204. */
export function stepFinishPost(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const body = bodyObject(req);
    const lease = { jobId: jobIdParam(req), leaseToken: leaseToken(body.leaseToken) };
    const step = stepIndexParam(req);
    const variables = outputVariables(body.outputVariables);
    const result = { state: stepState(body.state), exitCode: exitCode(body.exitCode), ...(variables ? { outputVariables: variables } : {}) };
    await callJobs(() => deps.jobs.stepFinished(lease, step, result));
    res.status(204).end();
  };
}
