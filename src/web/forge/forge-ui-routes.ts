import express, { Router } from "express";
import type { EngineContext } from "../../builds/engine-context";
import { asyncHandler } from "../../http/async-handler";
import type { ForgeCallDeps } from "../../intake/forge-call";
import { applicationBuildsRoutes } from "../api/application-builds-routes";
import { applicationPipelinesGet } from "../api/application-pipelines-get";
import { applicationsRoutes } from "../api/applications-routes";
import { buildsRoutes } from "../api/builds-routes";
import type { CloudApiDeps } from "../api/cloud-api-deps";
import { deploymentsRoutes } from "../api/deployments-routes";
import { buildsFragmentGet } from "../pages/builds-fragment-get";
import { buildsGet } from "../pages/builds-get";
import { deploymentsFragmentGet } from "../pages/deployments-fragment-get";
import { deploymentsGet } from "../pages/deployments-get";
import type { PageDeps } from "../pages/page-deps";
import { panelFragmentGet } from "../pages/panel-fragment-get";
import { panelGet } from "../pages/panel-get";
import { repositorySettingsGet } from "../pages/repository-settings-get";
import { forgeLogEventsGet } from "./forge-log-events-get";
import { forgePageRepository } from "./forge-page-repository";
import { forgeUiAuth } from "./forge-ui-auth";
import { renderAsJson } from "./render-as-json";

/**
 * /forge/ui — what the Forge app's pages (Custom UI, `invokeRemote`) call, behind the Forge door: the pages and
 * fragments of the other doors as JSON `{html}` (the panel, the builds page, the Deployments page, the repository's
 * settings), the same JSON API (`/forge/ui/api/…` = `/api/…`: applications, builds, deployments, schedules), and the
 * live log as polled batches. Routers and handlers are the ones the Connect and standalone pages use; a person is
 * known by the invocation token's `principal` (an account id Bitbucket is asked about with the app's system token).
 */
export function forgeUiRoutes(deps: ForgeCallDeps, pages: PageDeps, ctx: EngineContext, cloud: CloudApiDeps): Router {
  const r = Router();
  // The person acting is named by the invocation token, never by a session: no OAuth consumer is involved.
  const deployments = { ...pages, oauth: null };
  const pageRepository = forgePageRepository(ctx.models);
  r.use(express.json({ limit: "256kb" }));
  r.use(forgeUiAuth(deps));
  r.get("/pages/panel", asyncHandler(renderAsJson(panelGet(pages))));
  r.get("/pages/builds", asyncHandler(renderAsJson(buildsGet(pages))));
  r.get("/pages/deployments", asyncHandler(renderAsJson(deploymentsGet(deployments))));
  r.get("/pages/settings", asyncHandler(renderAsJson(repositorySettingsGet(pages))));
  r.get("/fragments/panel", asyncHandler(renderAsJson(panelFragmentGet(pages))));
  r.get("/fragments/builds", asyncHandler(renderAsJson(buildsFragmentGet(pages))));
  r.get("/fragments/deployments", asyncHandler(renderAsJson(deploymentsFragmentGet(deployments))));
  r.use("/api/applications/:id", pageRepository.application);
  r.use("/api/builds/:id", pageRepository.build);
  r.get("/api/applications/:id/pipelines", asyncHandler(applicationPipelinesGet(ctx)));
  r.use("/api/applications", applicationsRoutes(ctx.models, cloud));
  r.use("/api/applications", applicationBuildsRoutes(ctx));
  r.use("/api/applications", deploymentsRoutes({ ctx, oauth: null }));
  r.get("/api/builds/:id/steps/:n/log/events", asyncHandler(forgeLogEventsGet(ctx.models)));
  r.use("/api/builds", buildsRoutes(ctx));
  return r;
}
