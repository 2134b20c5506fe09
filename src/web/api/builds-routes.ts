import express, { Router } from "express";
import type { EngineContext } from "../../builds/engine-context";
import { asyncHandler } from "../../http/async-handler";
import { buildArtifactDownloadGet, buildArtifactsGet } from "./build-artifacts-get";
import { buildCancelPost } from "./build-cancel-post";
import { buildGet } from "./build-get";
import { buildRerunFailedPost } from "./build-rerun-failed-post";
import { buildRerunPost } from "./build-rerun-post";
import { buildStepLogGet } from "./build-step-log-get";
import { buildStepLogDownloadGet } from "./build-step-log-download-get";
import { buildStepRunPost } from "./build-step-run-post";
import type { OAuthSettings } from "../../forges/cloud-oauth/oauth-settings";

/**
 * /api/builds/:id — one build: read it and its step logs, cancel, rerun, run a manual step. Mounted behind the
 * context-token check; another tenant's build is a 404.
 */
export function buildsRoutes(ctx: EngineContext, oauth: OAuthSettings | null = null): Router {
  const r = Router();
  r.use(express.json({ limit: "16kb" }));
  r.get("/:id", asyncHandler(buildGet(ctx.models)));
  r.get("/:id/steps/:n/log", asyncHandler(buildStepLogGet(ctx.models)));
  r.get("/:id/steps/:n/log/download", asyncHandler(buildStepLogDownloadGet(ctx.models, ctx.logCapBytes)));
  r.post("/:id/cancel", asyncHandler(buildCancelPost(ctx)));
  r.post("/:id/rerun", asyncHandler(buildRerunPost(ctx)));
  r.post("/:id/rerun-failed", asyncHandler(buildRerunFailedPost(ctx)));
  r.get("/:id/artifacts", asyncHandler(buildArtifactsGet(ctx)));
  r.get("/:id/artifacts/:artifactId/download", asyncHandler(buildArtifactDownloadGet(ctx)));
  r.post("/:id/steps/:n/run", asyncHandler(buildStepRunPost({ ctx, oauth })));
  return r;
}
