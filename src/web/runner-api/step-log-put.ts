import type { Request, Response } from "express";
import { UniqueConstraintError } from "sequelize";
import { badRequest } from "../../http/http-error";
import { callJobs, type RunnerApiDeps } from "./runner-api-deps";
import { jobIdParam, leaseToken, logOffset, stepIndexParam } from "./runner-input";

/** The largest log chunk one request may carry (runners send at most 64 KiB). */
export const LOG_CHUNK_LIMIT_BYTES = 1024 * 1024;

/**
 * PUT /runner/jobs/:jobId/steps/:step/log?offset=N — stores the raw body (application/octet-stream) as the piece of
 * the step's log at byte `offset`. The lease token comes in `X-Lease-Token` (the body is the log). Sending the
 * same chunk again stores it once, so a runner may retry this freely. 204.
 */
export function stepLogPut(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const jobId = jobIdParam(req);
    const step = stepIndexParam(req);
    const lease = { jobId, leaseToken: leaseToken(req.get("X-Lease-Token"), "the X-Lease-Token header") };
    const offset = logOffset(req.query.offset);
    const data = req.body as unknown;
    if (!Buffer.isBuffer(data) || data.length === 0) throw badRequest("the body must be the log chunk's bytes (application/octet-stream), not empty");
    try {
      await callJobs(() => deps.jobs.appendLog(lease, step, offset, data));
    } catch (err) {
      // A retry that raced the attempt it repeats (the runner timed out while the first was still being stored):
      // the chunk at this offset is there, which is all the runner asked for.
      if (!(err instanceof UniqueConstraintError)) throw err;
    }
    res.status(204).end();
  };
}
