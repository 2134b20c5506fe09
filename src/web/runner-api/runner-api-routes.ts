import express, { Router, type ErrorRequestHandler, type RequestHandler } from "express";
import { asyncHandler } from "../../http/async-handler";
import { HttpError } from "../../http/http-error";
import { LeaseLostError } from "../../runner/runner-protocol";
import { claimPost } from "./claim-post";
import { heartbeatPost } from "./heartbeat-post";
import { jobArtifactGet, jobArtifactsGet, stepArtifactPut } from "./job-artifacts";
import { jobCacheGet, jobCachePut } from "./job-cache";
import { jobFinishPost } from "./job-finish-post";
import { jobReleasePost } from "./job-release-post";
import type { RunnerApiDeps } from "./runner-api-deps";
import { runnerAuth } from "./runner-auth";
import { runnerMeGet } from "./runner-me-get";
import { runnerMePut } from "./runner-me-put";
import { stepFinishPost } from "./step-finish-post";
import { LOG_CHUNK_LIMIT_BYTES, stepLogPut } from "./step-log-put";
import { stepStartPost } from "./step-start-post";
import { stepTestReportPost } from "./step-test-report-post";

export type { RunnerApiDeps } from "./runner-api-deps";

/** Nothing the runner API answers may be stored by a cache: a claim carries clone credentials. */
const noStore: RequestHandler = (_req, res, next) => {
  res.set("Cache-Control", "no-store");
  next();
};

const contentType = (type: string): RequestHandler => (req, _res, next) => {
  next(req.is(type) ? undefined : new HttpError(415, `the body must be ${type}`));
};

/** The lease was lost: 409 with a code the runner recognises, so it abandons the job (another runner owns it now). */
const leaseLost: ErrorRequestHandler = (err, _req, res, next) => {
  if (!(err instanceof LeaseLostError)) return next(err);
  res.status(409).json({ error: err.message, code: "lease-lost" });
};

/**
 * /runner — the runner API: JSON over HTTP for `npm run runner` on other machines, one route per RunnerProtocol
 * method, behind a runner token. Routers only chain middleware; each handler is its own file.
 */
export function runnerApiRoutes(deps: RunnerApiDeps): Router {
  const r = Router();
  const json = [contentType("application/json"), express.json({ limit: "64kb" })];
  r.use(noStore, runnerAuth(deps.models));
  r.get("/me", runnerMeGet());
  r.put("/me", json, asyncHandler(runnerMePut(deps)));
  r.post("/claim", json, asyncHandler(claimPost(deps)));
  r.post("/jobs/:jobId/heartbeat", json, asyncHandler(heartbeatPost(deps)));
  r.post("/jobs/:jobId/steps/:step/start", json, asyncHandler(stepStartPost(deps)));
  r.put("/jobs/:jobId/steps/:step/log", contentType("application/octet-stream"), express.raw({ type: "application/octet-stream", limit: LOG_CHUNK_LIMIT_BYTES }), asyncHandler(stepLogPut(deps)));
  r.post("/jobs/:jobId/steps/:step/finish", json, asyncHandler(stepFinishPost(deps)));
  // A report carries up to 100 failures of up to 2,000 characters of output each.
  r.post("/jobs/:jobId/steps/:step/test-report", contentType("application/json"), express.json({ limit: "1mb" }), asyncHandler(stepTestReportPost(deps)));
  r.post("/jobs/:jobId/finish", json, asyncHandler(jobFinishPost(deps)));
  r.post("/jobs/:jobId/release", json, asyncHandler(jobReleasePost(deps)));
  // Artifacts and caches: tar.gz streams in and out, never whole in memory (the lease in X-Lease-Token).
  r.get("/jobs/:jobId/artifacts", asyncHandler(jobArtifactsGet(deps)));
  r.get("/jobs/:jobId/artifacts/:artifactId", asyncHandler(jobArtifactGet(deps)));
  r.put("/jobs/:jobId/steps/:step/artifacts", contentType("application/gzip"), asyncHandler(stepArtifactPut(deps)));
  r.get("/jobs/:jobId/cache", asyncHandler(jobCacheGet(deps)));
  r.put("/jobs/:jobId/cache", contentType("application/gzip"), asyncHandler(jobCachePut(deps)));
  r.use(leaseLost);
  return r;
}
