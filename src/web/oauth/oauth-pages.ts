import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import { escapeHtml } from "../pages/ansi-html";
import { SCOPES, PIPELINES_SCOPES } from "../../scopes/catalogue";
import { callbackUrl } from "../../forges/cloud-oauth/oauth-settings";
import { notFound } from "../../http/http-error";
import { currentSession, sessionWorkspaces } from "./session";
import { sessionConnections } from "./oauth-connections";
import { standaloneLinks } from "../pages/repository-application";

/** The sign-in pages look like the app's other pages: its stylesheet, its type, its buttons; scripts from /static only. */
function page(title: string, body: string, script?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Pipelines for Bitbucket</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><link rel="stylesheet" href="/static/pipelines.css">${script ? `<script src="/static/${script}" defer></script>` : ""}</head>
<body><nav class="standalone-nav"><a href="/">Pipelines for Bitbucket</a> · <a href="/app">Your workspaces</a></nav><main class="page"><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

function send(res: Response, status: number, html: string): void {
  res
    .status(status)
    .set({ "Cache-Control": "no-store", "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer" })
    .type("html")
    .send(html);
}

/**
 * GET /oauth/setup — for the administrator who registers the OAuth consumer in Bitbucket: the callback URL to enter,
 * the permissions to tick (SCOPES.md), and whether this service has a consumer key and secret. The secret is never
 * shown.
 */
export function oauthSetupGet(baseUrl: string, consumerKey: string | null) {
  return (_req: Request, res: Response) => {
    const rows = PIPELINES_SCOPES.map((s) => SCOPES.find((i) => i.scope === s))
      .filter((i) => i !== undefined)
      .map((i) => `<tr><td>${escapeHtml(i.area)}</td><td>${escapeHtml(i.access)}</td><td><code>${escapeHtml(i.scope)}</code></td><td>${escapeHtml(i.why ?? "")}</td></tr>`)
      .join("");
    const status = consumerKey
      ? `<p class="message success">A consumer is configured (key <code>${escapeHtml(consumerKey)}</code>).</p><p><a class="button primary" href="/oauth/connect">Connect Bitbucket</a></p>`
      : `<p class="message"><strong>No consumer is configured.</strong> Set <code>PIPELINES_OAUTH_KEY</code> and <code>PIPELINES_OAUTH_SECRET</code> (or <code>pipelines.oauth.key</code>/<code>secret</code> in config.json) and restart.</p>`;
    send(
      res,
      200,
      page(
        "Set up the Bitbucket OAuth consumer",
        `<p>In Bitbucket: Workspace settings → OAuth consumers → Add consumer. Callback URL:</p><p><code id="callback-url">${escapeHtml(callbackUrl(baseUrl))}</code></p>
<p>Permissions to tick:</p><table class="table"><thead><tr><th scope="col">Area</th><th scope="col">Access</th><th scope="col">Scope</th><th scope="col">Why</th></tr></thead><tbody>${rows}</tbody></table>${status}`,
      ),
    );
  };
}

/**
 * GET /oauth — the standalone home behind the session: the connected workspaces the signed-in user belongs to, each
 * with its state ("reconnect needed" and why), its applications, and Disconnect. Signed out: "Connect Bitbucket".
 */
export function oauthHomeGet(models: Models) {
  return async (req: Request, res: Response) => {
    const session = await currentSession(models, req);
    if (!session?.userUuid) {
      send(
        res,
        200,
        page(
          "Pipelines for Bitbucket",
          `<p class="lead">Sign in with your Bitbucket account: every workspace you belong to that grants access becomes a connection, and its repositories' builds are at <a href="/app">/app</a>.</p>
<p><a class="button primary" id="connect" href="/oauth/connect">Connect Bitbucket</a></p><p class="muted">Setting up this service? <a href="/oauth/setup">The OAuth consumer it needs</a>.</p>`,
        ),
      );
      return;
    }
    const connections = await sessionConnections(models, session);
    const items = connections
      .map(({ view: c }) => {
        const state =
          c.state === "connected"
            ? `<span class="lozenge successful state">connected</span>`
            : `<span class="lozenge failed state reconnect">reconnect needed</span> — ${escapeHtml(c.reason ?? "")} <a href="/oauth/connect">Reconnect</a>`;
        const apps = c.applications.map((a) => `<li>${escapeHtml(a.repository)} (auto-build ${a.autoBuild ? "on" : "off"})</li>`).join("") || "<li>No applications yet.</li>";
        return `<section class="section" data-tenant="${c.tenantId}"><h2><a href="/app/${encodeURIComponent(c.workspace)}">${escapeHtml(c.workspace)}</a></h2><p>${state}</p><ul>${apps}</ul>
<p><button type="button" class="button" data-disconnect="${c.tenantId}" data-workspace="${escapeHtml(c.workspace)}">Disconnect</button></p></section>`;
      })
      .join("");
    const body = `<p class="message" data-testid="message" role="status" aria-live="polite" hidden></p>${items || "<p>None of your workspaces is connected.</p>"}<p><a href="/app">Your workspaces and their builds</a> · <a href="/oauth/connect">Connect Bitbucket again</a></p>`;
    send(res, 200, page(`Signed in as ${session.userName ?? session.userUuid}`, body, "oauth.js"));
  };
}

/**
 * GET /oauth/builds/:id — where a commit status links: the build's state and steps, for members of its workspace
 * (anyone else: 404), with a link to it on the standalone builds page (its live log, Cancel, Re-run).
 */
export function oauthBuildGet(models: Models, baseUrl: string) {
  return async (req: Request, res: Response) => {
    const session = await currentSession(models, req);
    if (!session?.userUuid) {
      res.redirect(302, "/oauth");
      return;
    }
    const build = /^\d{1,12}$/.test(req.params.id) ? await models.Build.findByPk(Number(req.params.id)) : null;
    const tenant = build && (await models.Tenant.findByPk(build.tenantId));
    if (!build || !tenant || tenant.kind !== "cloud-oauth" || !sessionWorkspaces(session).includes(tenant.principalUuid ?? "")) throw notFound("no build of your workspaces has this id");
    const app = await models.Application.findByPk(build.applicationId);
    const steps = await models.Step.findAll({ where: { buildId: build.id }, order: [["index", "ASC"]] });
    const list = steps.map((s) => `<li>${escapeHtml(s.name)}: ${escapeHtml(s.state)}</li>`).join("");
    const full = app ? `<p><a data-testid="open-build" href="${escapeHtml(standaloneLinks(baseUrl, app.repository).build(build))}">Open the build with its log</a></p>` : "";
    send(
      res,
      200,
      page(
        `${app?.repository ?? ""} #${build.number}`,
        `<p>State: <strong class="build-state">${escapeHtml(build.state)}</strong>${build.stateReason ? ` — ${escapeHtml(build.stateReason)}` : ""}</p>
<p>${escapeHtml(build.refName)} @ <code>${escapeHtml(build.commit.slice(0, 12))}</code></p><ol>${list}</ol>${full}`,
      ),
    );
  };
}
