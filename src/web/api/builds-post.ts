import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import { buildJson } from "../../builds/build-json";
import type { EngineContext } from "../../builds/engine-context";
import { startBuild, type StartBuildRequest } from "../../builds/start-build";
import { tenantAuthOf, tenantOf } from "../../http/tenant-auth";
import { isSafeRefName } from "../../forges/events";
import { badRequest, HttpError } from "../../http/http-error";
import { unlessBitbucketUnavailable } from "./forge-unavailable";

const COMMIT = /^[0-9a-fA-F]{7,40}$/;
const CUSTOM = /^custom:\s*(\S(?:.{0,253}\S)?)\s*$/;
const MAX_VARIABLE_BYTES = 32 * 1024;

/** The body of POST /api/applications/:id/builds, checked for shape (what it means is startBuild's to judge). */
export function parseStartBuildBody(body: unknown): StartBuildRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object: {"branch": …} or {"commit": …}');
  const { branch, commit, pipeline, variables } = body as Record<string, unknown>;
  const req: StartBuildRequest = {};
  if (branch !== undefined) {
    if (!isSafeRefName(branch)) throw badRequest("branch must be a branch name git accepts");
    req.branch = branch;
  }
  if (commit !== undefined) {
    if (typeof commit !== "string" || !COMMIT.test(commit)) throw badRequest("commit must be a commit hash (7 to 40 hex characters)");
    req.commit = commit.toLowerCase();
  }
  if (req.branch === undefined && req.commit === undefined) throw badRequest("give a branch or a commit to build");
  if (pipeline !== undefined) {
    const m = typeof pipeline === "string" ? CUSTOM.exec(pipeline) : null;
    if (!m) throw badRequest('pipeline must be "custom:<name>" (the other pipelines are chosen by the branch)');
    req.customPipeline = m[1];
  }
  if (variables !== undefined) {
    if (typeof variables !== "object" || variables === null || Array.isArray(variables)) throw badRequest("variables must be an object of names to string values");
    const entries = Object.entries(variables as Record<string, unknown>);
    if (entries.length > 100) throw badRequest("at most 100 variables");
    for (const [name, value] of entries) {
      if (typeof value !== "string") throw badRequest(`the value of ${name} must be a string`);
      if (Buffer.byteLength(value) > MAX_VARIABLE_BYTES) throw badRequest(`the value of ${name} is longer than 32 KiB`);
    }
    req.variables = Object.fromEntries(entries) as Record<string, string>;
  }
  return req;
}

/** POST /api/applications/:id/builds — "Run pipeline": a branch's pipeline, or a custom one with its variables. 201 with the build. */
export function buildsPost(ctx: EngineContext) {
  return async (req: Request, res: Response) => {
    const tenant = tenantOf(res);
    const app = await findApplication(ctx.models, tenant.id, req.params.id);
    const input = { ...parseStartBuildBody(req.body), startedBy: tenantAuthOf(res).userName ?? null };
    const result = await unlessBitbucketUnavailable(() => startBuild(ctx, tenant, app, input));
    switch (result.outcome) {
      case "invalid":
        throw badRequest(result.reason);
      case "not-found":
      case "no-pipeline":
        throw new HttpError(422, result.reason);
    }
    const steps = await ctx.models.Step.findAll({ where: { buildId: result.build.id } });
    res.status(201).json(buildJson(result.build, app.repository, steps));
  };
}
