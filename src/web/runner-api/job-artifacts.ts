import type { Request, Response } from "express";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { badRequest, notFound } from "../../http/http-error";
import { OverCapError } from "../../runner/runner-protocol";
import { callJobs, type RunnerApiDeps } from "./runner-api-deps";
import { jobIdParam, leaseToken, stepIndexParam } from "./runner-input";

/** The lease of a streaming request: in `X-Lease-Token` (the body, if any, is the tar.gz). */
function leaseOf(req: Request) {
  return { jobId: jobIdParam(req), leaseToken: leaseToken(req.get("X-Lease-Token"), "the X-Lease-Token header") };
}

/** A name given in the query (`?name=`): 1 to 200 characters, no control characters. */
export function nameQuery(value: unknown, what: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 200 || [...value].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127)) throw badRequest(`${what} must be a name of 1 to 200 characters`);
  return value;
}

/**
 * The request's body as a stream the job service may stop reading (a PassThrough: when it is destroyed — over the
 * cap — the request itself stays readable, is drained, and the answer still reaches the runner).
 */
export function bodyStream(req: Request): PassThrough {
  const body = new PassThrough();
  req.pipe(body);
  body.once("close", () => {
    req.unpipe(body);
    if (!req.readableEnded) req.resume();
  });
  return body;
}

/** Over the cap: 413 with a code the runner recognises, and the message that goes to the step's log. */
export function overCap(res: Response, err: OverCapError): void {
  res.set("Connection", "close").status(413).json({ error: err.message, code: "over-cap" });
}

/** GET /runner/jobs/:jobId/artifacts (X-Lease-Token) — `{artifacts: ArtifactRef[]}`: what the job's steps may get. */
export function jobArtifactsGet(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const artifacts = await callJobs(() => deps.jobs.listArtifacts(leaseOf(req)));
    res.json({ artifacts });
  };
}

/**
 * GET /runner/jobs/:jobId/artifacts/:artifactId (X-Lease-Token) — one of them as application/gzip. An artifact of
 * another build (of this tenant's or another's) is a 404, like one that does not exist.
 */
export function jobArtifactGet(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const lease = leaseOf(req);
    const id = Number(req.params.artifactId);
    if (!Number.isSafeInteger(id) || id <= 0) throw notFound("no such artifact");
    let body;
    try {
      body = await deps.jobs.downloadArtifact(lease, id);
    } catch (err) {
      if (err instanceof RangeError) throw notFound(err.message);
      throw err;
    }
    res.status(200).type("application/gzip");
    await pipeline(body, res);
  };
}

/**
 * PUT /runner/jobs/:jobId/steps/:step/artifacts?name=…&type=shared|scoped (X-Lease-Token, body application/gzip):
 * stores one artifact of the step, streamed. 200 `{size}`; 413 `over-cap` when the step's artifacts go past the cap.
 */
export function stepArtifactPut(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const lease = leaseOf(req);
    const step = stepIndexParam(req);
    const name = nameQuery(req.query.name, "name");
    const type = req.query.type === "scoped" ? "scoped" : req.query.type === "shared" || req.query.type === undefined ? "shared" : null;
    if (!type) throw badRequest("type must be shared or scoped");
    try {
      const { size } = await callJobs(() => deps.jobs.uploadArtifact(lease, step, { name, type }, bodyStream(req)));
      res.json({ size });
    } catch (err) {
      if (err instanceof OverCapError) return overCap(res, err);
      throw err;
    }
  };
}
