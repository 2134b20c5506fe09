import path from "node:path";
import { homeGet } from "./web/pages/home-get";
import express, { type Express } from "express";
import ace from "atlassian-connect-express";
import type { Config } from "./config/load-config";
import type { Storage } from "./db/open-storage";
import { aceStoreAdapter } from "./forges/cloud-connect/ace-store";
import { connectJwt, type VerifyDeps } from "./forges/cloud-connect/jwt/verify-request";
import { lifecycleInstalledPost } from "./forges/cloud-connect/lifecycle/lifecycle-installed-post";
import { lifecycleUninstalledPost } from "./forges/cloud-connect/lifecycle/lifecycle-uninstalled-post";
import { connectWebhookPost } from "./intake/webhooks/connect-webhook-post";
import { serverWebhookPost } from "./intake/webhooks/server-webhook-post";
import { asyncHandler } from "./http/async-handler";
import { sessionLogoutPost } from "./web/oauth/session-logout-post";
import { InboxWriter } from "./intake/inbox-writer";
import { cachedTenantLookup } from "./tenants/tenant-lookup";
import { errorHandler, notFoundHandler } from "./http/error-handler";
import { aceLogger, type Logger } from "./log/logger";
import type { TenantRevoker } from "./tenants/revoke-tenant";
import type { Engine } from "./builds/engine";
import { handlebarsEngine } from "./web/view-engine";
import { panelGet } from "./web/pages/panel-get";
import { buildsGet } from "./web/pages/builds-get";
import { configureGet } from "./web/pages/configure-get";
import { deploymentsGet } from "./web/pages/deployments-get";
import { deploymentsFragmentGet } from "./web/pages/deployments-fragment-get";
import { applicationsRoutes } from "./web/api/applications-routes";
import { applicationBuildsRoutes } from "./web/api/application-builds-routes";
import { buildsRoutes } from "./web/api/builds-routes";
import { deploymentsRoutes } from "./web/api/deployments-routes";
import { contextToken } from "./web/api/context-token";
import { sshKeyBitbucketPost } from "./web/api/ssh-key-bitbucket-post";
import { runnerApiRoutes } from "./web/runner-api/runner-api-routes";
import { adminAuth } from "./web/admin/admin-auth";
import { adminRunnersGet } from "./web/admin/admin-runners-get";
import { oidcRoutes } from "./web/oidc/oidc-routes";
import { panelFragmentGet } from "./web/pages/panel-fragment-get";
import { buildsFragmentGet } from "./web/pages/builds-fragment-get";
import { badgeGet, BADGE_PATH } from "./web/badge/badge-get";
import { buildStepLogStreamGet } from "./web/api/build-step-log-stream-get";
import { applicationPipelinesGet } from "./web/api/application-pipelines-get";
import { tokenInHeaderOnly } from "./web/api/token-in-header-only";
import { cloudCallerRegistry } from "./forges/forge-for";
import { oauthSettings } from "./forges/cloud-oauth/oauth-settings";
import { cloudWebhookPost } from "./intake/webhooks/cloud-webhook-post";
import { connectOrSession, sessionTenant, sessionTenantFromQuery } from "./web/oauth/session";
import { standaloneRoutes } from "./web/oauth/standalone-routes";
import { serverLoginRoutes } from "./web/server-login/server-login-routes";
import { oauthConnectGet } from "./web/oauth/oauth-connect-get";
import { oauthCallbackGet } from "./web/oauth/oauth-callback-get";
import { oauthBuildGet, oauthHomeGet, oauthSetupGet } from "./web/oauth/oauth-pages";
import { oauthConnectionsGet, oauthDisconnectPost } from "./web/oauth/oauth-api";
import { oauthAutoBuildChanged } from "./web/oauth/oauth-auto-build";
import { registerSecret } from "./log/logger";
import { fitVerifier } from "./forges/cloud-forge-app/fit/verify-fit";
import { forgeEventPost } from "./intake/webhooks/forge-event-post";
import { forgeLifecyclePost } from "./web/forge/forge-lifecycle-post";
import { forgeTickPost } from "./web/forge/forge-tick-post";
import { forgeMergeCheckPost } from "./web/forge/forge-merge-check-post";
import { forgeUiRoutes } from "./web/forge/forge-ui-routes";
import type { ServiceMetrics } from "./metrics/service-metrics";
import { countDeliveries } from "./metrics/count-deliveries";
import { metricsGet } from "./metrics/metrics-get";
import { requestId } from "./http/request-id";

export const PROJECT_ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? "../.." : "..");

export interface AppDeps {
  config: Config;
  log: Logger;
  storage: Storage;
  revokers?: TenantRevoker[];
  /** The build engine (the JSON API starts, stops and reads builds through it). */
  engine: Engine;
  /** Counts deliveries; served at /metrics when a token protects it and no separate port serves it. */
  metrics: ServiceMetrics;
  onDeliveryStored?: () => void;
}

export interface App {
  app: Express;
  appKey: string;
  /** Removes what the app hung on the process (ACE's unhandledRejection listener), when the service stops. */
  dispose(): void;
}

/** Wires every route; nothing else. Resolves once ACE has registered its own routes (the descriptor). */
export function createApp(deps: AppDeps): Promise<App> {
  const { config, log, storage } = deps;
  const models = storage.models;
  const app = express();
  app.disable("x-powered-by");
  app.set("env", config.mode === "production" ? "production" : "development");
  app.set("trust proxy", true);
  app.engine("hbs", handlebarsEngine(path.join(PROJECT_ROOT, "views"), config.mode !== "development"));
  app.set("view engine", "hbs");
  app.set("views", path.join(PROJECT_ROOT, "views"));
  // Every request gets an id (a well-formed incoming X-Request-Id, else a new one), echoed and in its log lines.
  app.use(requestId(log));

  ace.store.register("pipelines", () => aceStoreAdapter(models) as unknown as ReturnType<Parameters<typeof ace.store.register>[1]>);
  const aceMode = config.mode === "production" ? "production" : "development";
  const aceSettings = {
    ...((config.aceConfig[aceMode] as object | undefined) ?? {}),
    localBaseUrl: config.baseUrl,
    port: config.port,
    product: "bitbucket",
    watch: false,
    setupInstallRoute: false,
    validateDescriptor: false,
    store: { adapter: "pipelines" },
    whitelist: config.allowedHosts,
  };

  return new Promise<App>((resolve, reject) => {
    let addon: ReturnType<typeof ace>;
    const cwd = process.cwd();
    // ACE adds an unhandledRejection listener to the process for every app it makes and never removes it: a process
    // that starts several services (the tests) would pile them up. Ours is taken off again when the service stops.
    const listenersBefore = new Set(process.listeners("unhandledRejection"));
    let added: NodeJS.UnhandledRejectionListener[] = [];
    const dispose = () => {
      for (const l of added) process.off("unhandledRejection", l);
      added = [];
    };
    try {
      // ACE reads config.json and atlassian-connect.json from the working directory.
      process.chdir(PROJECT_ROOT);
      addon = ace(app, { config: { [aceMode]: aceSettings } }, aceLogger(log) as unknown as Console, () => {
        app.use(notFoundHandler);
        app.use(errorHandler(log));
        resolve({ app, appKey: addon.key, dispose });
      });
      added = process.listeners("unhandledRejection").filter((l) => !listenersBefore.has(l));
    } catch (err) {
      reject(err);
      return;
    } finally {
      process.chdir(cwd);
    }
    const appKey: string = addon.key;
    const basePath = new URL(config.baseUrl).pathname.replace(/\/$/, "");
    const verify: VerifyDeps = { models, basePath };
    const tenants = cachedTenantLookup(models);
    const lifecycle = { ...verify, appKey, allowedHosts: config.allowedHosts, log, onTenantChanged: (clientKey: string) => tenants.forget(clientKey) };
    const inbox = new InboxWriter(models.sequelize);
    const json = express.json({ limit: "1mb" });
    const oauth = oauthSettings(config);
    if (oauth) registerSecret(oauth.secret);
    const callerFor = cloudCallerRegistry(models, config);
    const cloud = { callerFor, autoBuildChanged: oauth ? oauthAutoBuildChanged(models, callerFor, config.baseUrl) : undefined };
    // The JSON API's two doors: a Connect context token, or the standalone pages' session (OAuth connections).
    const session = sessionTenant(models);
    const apiAuth = connectOrSession(connectJwt("context", verify), session);

    // Our routes are added before ACE's (it registers them a tick later), so ours answer /installed and webhooks.
    app.post("/installed", json, asyncHandler(lifecycleInstalledPost(lifecycle)));
    app.post("/uninstalled", json, asyncHandler(lifecycleUninstalledPost({ ...lifecycle, revokers: deps.revokers ?? [] })));
    app.post("/webhook/server/:hookKey", countDeliveries(deps.metrics, "server"), express.raw({ type: () => true, limit: "1mb" }), asyncHandler(serverWebhookPost({ models, inbox, log, onStored: deps.onDeliveryStored })));
    if (oauth) app.post("/webhook/cloud/:hookKey", countDeliveries(deps.metrics, "oauth"), express.raw({ type: () => true, limit: "1mb" }), asyncHandler(cloudWebhookPost({ models, inbox, log, onStored: deps.onDeliveryStored })));
    app.post("/webhook", countDeliveries(deps.metrics, "connect"), express.raw({ type: () => true, limit: "1mb" }), asyncHandler(connectWebhookPost({ ...verify, tenants, inbox, log, onStored: deps.onDeliveryStored })));
    // Bitbucket Cloud through the operator's Forge app (Forge Remote): every call carries a Forge invocation token.
    const forgeDoor = config.forgeAppId ? { models, log, siteUrl: config.bitbucketUrl, verify: fitVerifier({ appId: config.forgeAppId, jwksUrl: config.forgeJwksUrl }) } : null;
    if (forgeDoor) {
      app.post("/forge/events", countDeliveries(deps.metrics, "forge"), express.raw({ type: () => true, limit: "1mb" }), asyncHandler(forgeEventPost({ ...forgeDoor, inbox, onStored: deps.onDeliveryStored })));
      app.post("/forge/lifecycle", json, asyncHandler(forgeLifecyclePost(forgeDoor)));
      app.post("/forge/tick", json, asyncHandler(forgeTickPost(forgeDoor)));
      app.post("/forge/merge-check", json, asyncHandler(forgeMergeCheckPost({ ...forgeDoor, forgeFor: deps.engine.ctx.forgeFor })));
    }

    // Bitbucket Cloud through an OAuth consumer: setup help always; the grant and the standalone pages when configured.
    // Signing out of the standalone pages, whichever door the session came through.
    app.post("/session/logout", asyncHandler(sessionLogoutPost(models)));
    app.get("/oauth/setup", oauthSetupGet(config.baseUrl, oauth?.key ?? null));
    if (oauth) {
      app.get("/oauth/connect", asyncHandler(oauthConnectGet(models, oauth)));
      app.get("/oauth/callback", asyncHandler(oauthCallbackGet(models, oauth, log)));
      app.get("/oauth", asyncHandler(oauthHomeGet(models)));
      app.get("/oauth/builds/:id", asyncHandler(oauthBuildGet(models, config.baseUrl)));
      app.get("/api/oauth/connections", asyncHandler(oauthConnectionsGet(models)));
      app.post("/api/oauth/disconnect", session, asyncHandler(oauthDisconnectPost(models, callerFor, deps.revokers ?? [])));
    }
    app.use("/static", express.static(path.join(PROJECT_ROOT, "public"), { maxAge: "1h", index: false }));
    const pages = { baseUrl: config.baseUrl, ctx: deps.engine.ctx, log };
    const deploymentsPage = { ...pages, oauth: oauth ?? null };
    // The same pages standalone (outside Bitbucket), behind the session: /app/….
    if (oauth) app.use(standaloneRoutes(pages, models, callerFor, deploymentsPage));
    // The Forge app's pages inside Bitbucket (invokeRemote): the same pages and JSON API behind the Forge door.
    if (forgeDoor) app.use("/forge/ui", forgeUiRoutes(forgeDoor, pages, deps.engine.ctx, cloud));
    // Bitbucket Server users sign in with their Server credentials: /server/login, /server/:tenantId/….
    app.use(serverLoginRoutes(pages, models, log, deploymentsPage));
    app.get("/pages/panel", connectJwt("normal", verify), asyncHandler(panelGet(pages)));
    app.get("/pages/builds", connectJwt("normal", verify), asyncHandler(buildsGet(pages)));
    app.get("/pages/configure", connectJwt("normal", verify), asyncHandler(configureGet(config.baseUrl, models, callerFor)));
    app.get("/pages/deployments", connectJwt("normal", verify), asyncHandler(deploymentsGet(deploymentsPage)));
    // Fragments of pages, for their scripts to refresh regions: context token, in the Authorization header only (or,
    // standalone, the session with X-Pipelines-Tenant).
    const fragmentAuth = connectOrSession(connectJwt("context", verify), session);
    app.get("/fragments/panel", tokenInHeaderOnly, fragmentAuth, asyncHandler(panelFragmentGet(pages)));
    app.get("/fragments/builds", tokenInHeaderOnly, fragmentAuth, asyncHandler(buildsFragmentGet(pages)));
    app.get("/fragments/deployments", tokenInHeaderOnly, fragmentAuth, asyncHandler(deploymentsFragmentGet(deploymentsPage)));
    // Status badges: public, behind an unguessable token per application.
    app.get(BADGE_PATH, asyncHandler(badgeGet(models)));
    // The live log: the one API route whose context token may come in the URL (EventSource sends no headers);
    // standalone, the session cookie with the workspace in `?tenant=`.
    app.get("/api/builds/:id/steps/:n/log/stream", connectOrSession(connectJwt("context", verify), sessionTenantFromQuery(models)), asyncHandler(buildStepLogStreamGet(models, deps.engine.stepSignals)));
    app.use("/api", tokenInHeaderOnly);
    app.get("/api/applications/:id/pipelines", apiAuth, asyncHandler(applicationPipelinesGet(deps.engine.ctx)));
    // The JSON API: page actions, authenticated with a context token (AP.context.getToken()).
    app.use("/api/applications", apiAuth, applicationsRoutes(models, cloud));
    app.use("/api/applications", connectOrSession(contextToken(verify), session), applicationBuildsRoutes(deps.engine.ctx));
    app.use("/api/applications", connectOrSession(contextToken(verify), session), deploymentsRoutes({ ctx: deps.engine.ctx, oauth: oauth ?? null }));
    app.use("/api/builds", apiAuth, buildsRoutes(deps.engine.ctx, oauth ?? null));
    app.post("/api/ssh-key/bitbucket", apiAuth, asyncHandler(sshKeyBitbucketPost(models, cloud)));
    // The runner API: remote runners (`npm run runner`), authenticated with a runner token.
    app.use("/runner", runnerApiRoutes({ models, jobs: deps.engine.jobs, log }));
    // The service administrator's list of runners, behind PIPELINES_ADMIN_TOKEN (absent: 404).
    app.get("/admin/runners", adminAuth(config.adminToken), asyncHandler(adminRunnersGet(config.baseUrl, models)));
    // OpenID Connect issuers of step tokens (one per workspace): discovery and JWKS, public by design.
    app.use(oidcRoutes(deps.engine.ctx.oidc));
    app.get("/healthz", (_req, res) => void res.json({ ok: true }));
    // Prometheus metrics on this port only behind a bearer token; with PIPELINES_METRICS_PORT they have a listener of
    // their own instead (server.ts); with neither they are not served.
    if (config.metrics.token && config.metrics.port === null) app.get("/metrics", metricsGet(deps.metrics, config.metrics.token, log));
    // What this service is and where to go next (in development: how to try it with the Bitbucket stand-in).
    app.get("/", asyncHandler(homeGet(config, models)));
  });
}
