import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import { escapeHtml } from "../pages/ansi-html";
import { SCOPES, PIPELINES_SCOPES } from "../../scopes/catalogue";
import { callbackUrl } from "../../forges/cloud-oauth/oauth-settings";
import { notFound } from "../../http/http-error";
import { currentSession, sessionWorkspaces, TENANT_HEADER } from "./session";
import { sessionConnections } from "./oauth-connections";
import { standaloneLinks } from "../pages/repository-application";

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Pipelines for Bitbucket</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

function send(res: Response, status: number, html: string): void {
  res.status(status).set({ "Cache-Control": "no-store", "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'", "X-Frame-Options": "DENY" }).type("html").send(html);
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
      ? `<p>A consumer is configured (key <code>${escapeHtml(consumerKey)}</code>). <a href="/oauth/connect">Connect Bitbucket</a></p>`
      : `<p><strong>No consumer is configured.</strong> Set <code>PIPELINES_OAUTH_KEY</code> and <code>PIPELINES_OAUTH_SECRET</code> (or <code>pipelines.oauth.key</code>/<code>secret</code> in config.json) and restart.</p>`;
    send(
      res,
      200,
      page(
        "Set up the Bitbucket OAuth consumer",
        `<p>In Bitbucket: Workspace settings → OAuth consumers → Add consumer. Callback URL:</p><p><code id="callback-url">${escapeHtml(callbackUrl(baseUrl))}</code></p>
<p>Permissions to tick:</p><table><thead><tr><th>Area</th><th>Access</th><th>Scope</th><th>Why</th></tr></thead><tbody>${rows}</tbody></table>${status}`,
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
      send(res, 200, page("Pipelines for Bitbucket", `<p><a id="connect" href="/oauth/connect">Connect Bitbucket</a></p><p><a href="/oauth/setup">Setup</a></p>`));
      return;
    }
    const connections = await sessionConnections(models, session);
    const items = connections
      .map(({ view: c }) => {
        const state =
          c.state === "connected"
            ? `<span class="state">connected</span>`
            : `<span class="state reconnect">reconnect needed</span> — ${escapeHtml(c.reason ?? "")} <a href="/oauth/connect">Reconnect</a>`;
        const apps = c.applications.map((a) => `<li>${escapeHtml(a.repository)} (auto-build ${a.autoBuild ? "on" : "off"})</li>`).join("") || "<li>No applications yet.</li>";
        return `<section data-tenant="${c.tenantId}"><h2><a href="/app/${encodeURIComponent(c.workspace)}">${escapeHtml(c.workspace)}</a></h2><p>${state}</p><ul>${apps}</ul>
<button type="button" data-disconnect="${c.tenantId}">Disconnect</button></section>`;
      })
      .join("");
    const script = `<script>document.querySelectorAll("[data-disconnect]").forEach(function(b){b.addEventListener("click",function(){
if(!confirm("Disconnect this workspace? Its webhooks and SSH key are deleted from Bitbucket and its builds stopped."))return;
fetch("/api/oauth/disconnect",{method:"POST",headers:{"${TENANT_HEADER}":b.getAttribute("data-disconnect")},credentials:"same-origin"}).then(function(){location.reload();});});});</script>`;
    send(res, 200, page(`Signed in as ${session.userName ?? session.userUuid}`, `${items || "<p>None of your workspaces is connected.</p>"}<p><a href="/oauth/connect">Connect Bitbucket again</a></p>${script}`));
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
