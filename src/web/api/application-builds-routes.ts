import express, { Router } from "express";
import type { EngineContext } from "../../builds/engine-context";
import { asyncHandler } from "../../http/async-handler";
import { buildsListGet } from "./builds-list-get";
import { buildsPost } from "./builds-post";
import { decisionsGet } from "./decisions-get";

/**
 * /api/applications/:id/builds and /decisions — an application's builds and the decisions about its pushes. Mounted
 * behind the context-token check; every route is scoped to the caller's tenant.
 */
export function applicationBuildsRoutes(ctx: EngineContext): Router {
  const r = Router();
  r.use(express.json({ limit: "256kb" }));
  r.get("/:id/builds", asyncHandler(buildsListGet(ctx.models)));
  r.post("/:id/builds", asyncHandler(buildsPost(ctx)));
  r.get("/:id/decisions", asyncHandler(decisionsGet(ctx.models)));
  return r;
}
