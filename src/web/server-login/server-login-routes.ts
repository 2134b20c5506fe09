import express, { Router } from "express";
import type { Models } from "../../db/models";
import { asyncHandler } from "../../http/async-handler";
import type { Logger } from "../../log/logger";
import { buildsGet } from "../pages/builds-get";
import { deploymentsGet, type DeploymentsPageDeps } from "../pages/deployments-get";
import type { PageDeps } from "../pages/page-deps";
import { serverHomeGet } from "./server-home-get";
import { serverLoginGet } from "./server-login-get";
import { serverLoginPost } from "./server-login-post";
import { serverRepositoryPage } from "./server-page-door";

/**
 * Bitbucket Server users' door to the standalone pages (Server connections need no OAuth configuration):
 * - GET/POST /server/login                      the login form (credentials checked with the Server, never stored);
 * - /server/:tenantId                           the applications of repositories the user can read;
 * - /server/:tenantId/:workspace/:repo/builds   the builds page (`?build=` a build with its live log), where
 *                                               `:workspace` is the project key;
 * - /server/:tenantId/:workspace/:repo/deployments  the Deployments page.
 * The pages' scripts call the JSON API and fragments with the session cookie and `X-Pipelines-Tenant`.
 */
export function serverLoginRoutes(pages: PageDeps, models: Models, log: Logger, deployments: DeploymentsPageDeps = { ...pages, oauth: null }): Router {
  const router = Router();
  router.get("/server/login", serverLoginGet(pages.baseUrl));
  router.post("/server/login", express.urlencoded({ extended: false, limit: "16kb" }), asyncHandler(serverLoginPost(pages.baseUrl, models, log)));
  router.get("/server/:tenantId", asyncHandler(serverHomeGet(pages.baseUrl, models)));
  router.get("/server/:tenantId/:workspace/:repo/builds", serverRepositoryPage(pages.baseUrl, models), asyncHandler(buildsGet(pages)));
  router.get("/server/:tenantId/:workspace/:repo/deployments", serverRepositoryPage(pages.baseUrl, models), asyncHandler(deploymentsGet(deployments)));
  return router;
}
