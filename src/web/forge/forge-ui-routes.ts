import express, { Router } from "express";
import type { EngineContext } from "../../builds/engine-context";
import { asyncHandler } from "../../http/async-handler";
import type { ForgeCallDeps } from "../../intake/forge-call";
import { applicationBuildsRoutes } from "../api/application-builds-routes";
import { applicationPipelinesGet } from "../api/application-pipelines-get";
import { applicationsRoutes } from "../api/applications-routes";
import { buildsRoutes } from "../api/builds-routes";
import type { CloudApiDeps } from "../api/cloud-api-deps";
import { buildsFragmentGet } from "../pages/builds-fragment-get";
import { buildsGet } from "../pages/builds-get";
import type { PageDeps } from "../pages/page-deps";
import { panelFragmentGet } from "../pages/panel-fragment-get";
import { panelGet } from "../pages/panel-get";
import { forgeLogEventsGet } from "./forge-log-events-get";
import { forgeUiAuth } from "./forge-ui-auth";
import { renderAsJson } from "./render-as-json";

/**
 * /forge/ui — what the Forge app's pages (Custom UI, `invokeRemote`) call, behind the Forge door: the pages and
 * fragments of the other doors as JSON `{html}`, the same JSON API (`/forge/ui/api/…` = `/api/…`), and the live log
 * as polled batches. Routers and handlers are the ones the Connect and standalone pages use.
 */
export function forgeUiRoutes(deps: ForgeCallDeps, pages: PageDeps, ctx: EngineContext, cloud: CloudApiDeps): Router {
  const r = Router();
  r.use(express.json({ limit: "256kb" }));
  r.use(forgeUiAuth(deps));
  r.get("/pages/panel", asyncHandler(renderAsJson(panelGet(pages))));
  r.get("/pages/builds", asyncHandler(renderAsJson(buildsGet(pages))));
  r.get("/fragments/panel", asyncHandler(renderAsJson(panelFragmentGet(pages))));
  r.get("/fragments/builds", asyncHandler(renderAsJson(buildsFragmentGet(pages))));
  r.get("/api/applications/:id/pipelines", asyncHandler(applicationPipelinesGet(ctx)));
  r.use("/api/applications", applicationsRoutes(ctx.models, cloud));
  r.use("/api/applications", applicationBuildsRoutes(ctx));
  r.get("/api/builds/:id/steps/:n/log/events", asyncHandler(forgeLogEventsGet(ctx.models)));
  r.use("/api/builds", buildsRoutes(ctx));
  return r;
}
