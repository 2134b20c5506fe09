import type { Request, Response } from "express";
import { pipeline } from "node:stream/promises";
import { OverCapError } from "../../runner/runner-protocol";
import { bodyStream, nameQuery, overCap } from "./job-artifacts";
import { callJobs, type RunnerApiDeps } from "./runner-api-deps";
import { jobIdParam, leaseToken } from "./runner-input";

const leaseOf = (req: Request) => ({ jobId: jobIdParam(req), leaseToken: leaseToken(req.get("X-Lease-Token"), "the X-Lease-Token header") });

/**
 * GET /runner/jobs/:jobId/cache?name=… (X-Lease-Token) — the saved cache of that name of the job's application
 * (application/gzip), or 404 when none is saved. Only ever the job's own application's: the name is looked up
 * under it.
 */
export function jobCacheGet(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const name = nameQuery(req.query.name, "name");
    const body = await callJobs(() => deps.jobs.downloadCache(leaseOf(req), name));
    if (!body) {
      res.status(404).json({ error: `no cache "${name}" is saved`, code: "no-cache" });
      return;
    }
    res.status(200).type("application/gzip");
    await pipeline(body, res);
  };
}

/**
 * PUT /runner/jobs/:jobId/cache?name=… (X-Lease-Token, body application/gzip) — saves the cache of the job's
 * application unless one of that name is saved. 200 `{saved}`; 413 `over-cap` past the cap per cache.
 */
export function jobCachePut(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const lease = leaseOf(req);
    const name = nameQuery(req.query.name, "name");
    try {
      const { saved } = await callJobs(() => deps.jobs.uploadCache(lease, name, bodyStream(req)));
      res.json({ saved });
    } catch (err) {
      if (err instanceof OverCapError) return overCap(res, err);
      throw err;
    }
  };
}
