import { Router } from "express";
import type { Models, Tenant } from "../../db/models";
import type { CloudCaller } from "../../forges/cloud/cloud-caller";
import { asyncHandler } from "../../http/async-handler";
import { buildsGet } from "../pages/builds-get";
import { configureGet } from "../pages/configure-get";
import type { PageDeps } from "../pages/page-deps";
import { panelGet } from "../pages/panel-get";
import { deploymentsGet, type DeploymentsPageDeps } from "../pages/deployments-get";
import { standaloneWorkspace } from "./standalone-auth";
import { standaloneWorkspaceGet } from "./standalone-workspace-get";
import { standaloneWorkspacesGet } from "./standalone-workspaces-get";

/**
 * The standalone pages (outside Bitbucket's iframe, behind the session of the OAuth grant) — the Connect pages'
 * own handlers, models and views behind another door:
 * - /app                          the workspaces the user belongs to;
 * - /app/:workspace               its applications and repositories;
 * - /app/:workspace/settings      the configure page (SSH key, permissions, variables);
 * - /app/:workspace/:repo         the repository panel ("Create application", auto-build, Build now);
 * - /app/:workspace/:repo/builds  the builds page (`?build=` a build with its live log);
 * - /app/:workspace/:repo/deployments  the Deployments page.
 * Their scripts call the same JSON API and fragments with the session cookie and `X-Pipelines-Tenant`.
 * (A repository named `settings` has its builds page, but its panel is the settings page's address.)
 */
export function standaloneRoutes(pages: PageDeps, models: Models, callerFor: (tenant: Tenant) => CloudCaller, deployments: DeploymentsPageDeps = { ...pages, oauth: null }): Router {
  const router = Router();
  const member = standaloneWorkspace(models);
  router.get("/app", asyncHandler(standaloneWorkspacesGet(pages.baseUrl, models)));
  router.get("/app/:workspace", member, asyncHandler(standaloneWorkspaceGet(pages, models, callerFor)));
  router.get("/app/:workspace/settings", member, asyncHandler(configureGet(pages.baseUrl, models, callerFor)));
  router.get("/app/:workspace/:repo", member, asyncHandler(panelGet(pages)));
  router.get("/app/:workspace/:repo/builds", member, asyncHandler(buildsGet(pages)));
  router.get("/app/:workspace/:repo/deployments", member, asyncHandler(deploymentsGet(deployments)));
  return router;
}
