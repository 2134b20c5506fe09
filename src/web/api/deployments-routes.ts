import express, { Router } from "express";
import { asyncHandler } from "../../http/async-handler";
import type { DeploymentsApiDeps } from "./deployments-deps";
import { environmentDelete } from "./environment-delete";
import { environmentDeploymentsGet } from "./environment-deployments-get";
import { environmentPatch } from "./environment-patch";
import { environmentPromotePost } from "./environment-promote-post";
import { environmentRedeployPost } from "./environment-redeploy-post";
import { environmentVariableDelete } from "./environment-variable-delete";
import { environmentVariablePut } from "./environment-variable-put";
import { environmentVariablesGet } from "./environment-variables-get";
import { environmentsGet } from "./environments-get";
import { environmentsPost } from "./environments-post";
import { scheduleDelete } from "./schedule-delete";
import { schedulePatch } from "./schedule-patch";
import { schedulesGet } from "./schedules-get";
import { schedulesPost } from "./schedules-post";

/**
 * /api/applications/:id/environments… and /schedules — deployment environments (their restrictions, variables,
 * history, promote and redeploy) and scheduled pipelines. Mounted behind the API's authentication; every route is
 * scoped to the caller's tenant.
 */
export function deploymentsRoutes(deps: DeploymentsApiDeps): Router {
  const { models } = deps.ctx;
  const r = Router();
  r.use(express.json({ limit: "256kb" }));
  r.get("/:id/environments", asyncHandler(environmentsGet(models)));
  r.post("/:id/environments", asyncHandler(environmentsPost(models)));
  r.patch("/:id/environments/:name", asyncHandler(environmentPatch(deps)));
  r.delete("/:id/environments/:name", asyncHandler(environmentDelete(deps)));
  r.get("/:id/environments/:name/deployments", asyncHandler(environmentDeploymentsGet(models)));
  r.get("/:id/environments/:name/variables", asyncHandler(environmentVariablesGet(models)));
  r.put("/:id/environments/:name/variables/:variable", asyncHandler(environmentVariablePut(deps)));
  r.delete("/:id/environments/:name/variables/:variable", asyncHandler(environmentVariableDelete(deps)));
  r.post("/:id/environments/:name/redeploy", asyncHandler(environmentRedeployPost(deps)));
  r.post("/:id/environments/:name/promote", asyncHandler(environmentPromotePost(deps)));
  r.get("/:id/schedules", asyncHandler(schedulesGet(models)));
  r.post("/:id/schedules", asyncHandler(schedulesPost(models)));
  r.patch("/:id/schedules/:sid", asyncHandler(schedulePatch(models)));
  r.delete("/:id/schedules/:sid", asyncHandler(scheduleDelete(models)));
  return r;
}
