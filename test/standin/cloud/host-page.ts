import { randomBytes } from "node:crypto";
import type http from "node:http";
import { CONTEXT_QSH } from "../../../src/forges/cloud-connect/jwt/qsh";
import { signHs256 } from "../../../src/forges/cloud-connect/jwt/token";
import { claimsForAppRequest } from "./connect-sender";
import { AP_SCRIPT, hostBrokerScript } from "./host-page-scripts";
import { joinUrl, parseBody, readBody, sendJson } from "./http-util";
import type { ServerContext } from "./server-context";
import type { InstallRecord, State } from "./state";

/**
 * Bitbucket's pages around an app's iframe, on the site server (plays https://bitbucket.org):
 *
 * - `GET /{workspace}/{repo}` — the repository overview, framing the app's web panel
 *   (org.bitbucket.repository.overview.informationPanel);
 * - `GET /{workspace}/{repo}/addon/{appKey}/{moduleKey}` — a repository page (repoPages), the outer URL's query
 *   passed on to the frame (what the app's build links point at);
 * - `GET /{workspace}/workspace/settings/addon/{appKey}/{moduleKey}` — the configure page;
 * - `GET /atlassian-connect/all.js` — the AP script the framed page loads; `POST /atlassian-connect/context-token` —
 *   where the host page gets the context tokens it hands the frame.
 *
 * The frame URL is the module's URL with its context parameters filled in and a `jwt` signed with the installation's
 * shared secret for exactly that request. `?as={workspace}` signs with another workspace's installation instead
 * (to see the app refuse it).
 */

const PAGE_PATH = /^\/([a-z0-9][a-z0-9_-]*)\/([a-z0-9][a-z0-9._-]*)(?:\/addon\/([^/]+)\/([^/]+))?\/?$/;
const SETTINGS_PATH = /^\/([a-z0-9][a-z0-9_-]*)\/workspace\/settings\/addon\/([^/]+)\/([^/]+)\/?$/;
const TOKEN_TTL_SECONDS = 900;

interface Module {
  key: string;
  url: string;
  location?: string;
}

/** Page sessions (random id → clientKey): the host page asks for context tokens by its session only. */
const sessions = new WeakMap<State, Map<string, string>>();

function sessionsOf(state: State): Map<string, string> {
  let m = sessions.get(state);
  if (!m) sessions.set(state, (m = new Map()));
  return m;
}

function modulesOf(inst: InstallRecord): { panels: Module[]; pages: Module[]; configure: Module | null } {
  const modules = (inst.descriptor.modules ?? {}) as Record<string, unknown>;
  const list = (v: unknown): Module[] => (Array.isArray(v) ? (v as Module[]) : []);
  const configure = modules.configurePage as Module | undefined;
  return { panels: list(modules.webPanels), pages: list(modules.repoPages), configure: configure?.url ? configure : null };
}

/** The workspace's latest live installation (of `appKey` when given). */
function installationOf(state: State, workspace: string, appKey?: string): InstallRecord | undefined {
  return [...state.installs.values()].filter((i) => i.installed && i.workspace === workspace && (!appKey || i.appKey === appKey)).at(-1);
}

/** The module URL with its `{context.params}` filled, `extra` parameters added and a JWT for that exact request. */
export function frameUrl(inst: InstallRecord, moduleUrl: string, context: Record<string, string>, extra: URLSearchParams = new URLSearchParams()): string {
  const filled = moduleUrl.replace(/\{([a-z_.]+)\}/gi, (_, name: string) => encodeURIComponent(context[name] ?? ""));
  const url = new URL(joinUrl(inst.appBaseUrl, filled));
  for (const [k, v] of extra) if (k !== "jwt" && k !== "as") url.searchParams.append(k, v);
  const claims = claimsForAppRequest(inst.clientKey, "GET", url.toString(), inst.appBaseUrl);
  url.searchParams.append("jwt", signHs256(claims, inst.secrets.at(-1) ?? ""));
  return url.toString();
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendHtml(res: http.ServerResponse, status: number, title: string, body: string, script = ""): void {
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Bitbucket stand-in</title>
<style>body{margin:0;font:14px sans-serif;color:#172b4d}header{padding:8px 16px;background:#0052cc;color:#fff}
main{display:flex;gap:16px;padding:16px}iframe{border:1px solid #dfe1e6;background:#fff}
iframe.panel{width:360px;height:720px}iframe.page{width:1100px;height:1400px}</style></head>
<body><header data-testid="host-header">Bitbucket stand-in · ${escapeHtml(title)}</header><main>${body}</main>${script ? `<script>${script}</script>` : ""}</body></html>`;
  res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
  res.end(html);
}

function framePage(ctx: ServerContext, res: http.ServerResponse, title: string, inst: InstallRecord, src: string, moduleKey: string, kind: "panel" | "page"): void {
  const session = randomBytes(16).toString("hex");
  sessionsOf(ctx.state).set(session, inst.clientKey);
  const frame = `<iframe class="${kind}" data-testid="host-frame" data-module="${escapeHtml(moduleKey)}" src="${escapeHtml(src)}"></iframe>`;
  sendHtml(res, 200, title, frame, hostBrokerScript(session));
}

function repositoryPage(ctx: ServerContext, res: http.ServerResponse, m: RegExpExecArray, query: URLSearchParams): void {
  const [, workspace, slug, appKey, moduleKey] = m;
  const repo = ctx.state.findRepository(workspace, slug);
  if (!repo) return sendHtml(res, 404, `${workspace}/${slug}`, "<p>Repository not found.</p>");
  const inst = installationOf(ctx.state, query.get("as") ?? workspace, appKey);
  if (!inst) return sendHtml(res, 200, `${workspace}/${slug}`, "<p>No app is installed in this workspace.</p>");
  const { panels, pages } = modulesOf(inst);
  const mod = moduleKey ? pages.find((p) => p.key === moduleKey) : panels.find((p) => p.location === "org.bitbucket.repository.overview.informationPanel");
  if (!mod) return sendHtml(res, 404, `${workspace}/${slug}`, "<p>The app has no such module.</p>");
  const context = {
    "repository.uuid": repo.uuid,
    "repository.full_name": `${repo.workspace}/${repo.slug}`,
    "repository.slug": repo.slug,
    "workspace.uuid": ctx.state.workspace(repo.workspace).uuid,
    "user.uuid": ctx.state.developer.uuid,
  };
  framePage(ctx, res, `${workspace}/${slug}`, inst, frameUrl(inst, mod.url, context, moduleKey ? query : undefined), mod.key, moduleKey ? "page" : "panel");
}

function settingsPage(ctx: ServerContext, res: http.ServerResponse, m: RegExpExecArray, query: URLSearchParams): void {
  const [, workspace, appKey, moduleKey] = m;
  const inst = installationOf(ctx.state, query.get("as") ?? workspace, appKey);
  const mod = inst && modulesOf(inst).configure;
  if (!inst || !mod || mod.key !== moduleKey) return sendHtml(res, 404, workspace, "<p>The app has no such page here.</p>");
  const context = { "user.uuid": ctx.state.developer.uuid, "workspace.uuid": ctx.state.workspace(workspace).uuid };
  framePage(ctx, res, `${workspace} settings`, inst, frameUrl(inst, mod.url, context), mod.key, "page");
}

async function contextToken(ctx: ServerContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = parseBody(await readBody(req), req.headers["content-type"]) as { session?: unknown } | undefined;
  const clientKey = typeof body?.session === "string" ? sessionsOf(ctx.state).get(body.session) : undefined;
  const inst = clientKey ? ctx.state.installs.get(clientKey) : undefined;
  if (!inst?.installed) return sendJson(res, 403, { error: "no such page session, or the app was uninstalled" });
  const iat = Math.floor(Date.now() / 1000);
  const claims = { iss: inst.clientKey, aud: inst.clientKey, sub: ctx.state.developer.accountId, iat, exp: iat + TOKEN_TTL_SECONDS, qsh: CONTEXT_QSH };
  sendJson(res, 200, { token: signHs256(claims, inst.secrets.at(-1) ?? "") });
}

/** Answers the host-page routes; false when `path` is none of them. */
export function serveHostPage(ctx: ServerContext, req: http.IncomingMessage, res: http.ServerResponse, method: string, path: string, query: string): boolean {
  const params = new URLSearchParams(query);
  if (method === "GET" && path === "/atlassian-connect/all.js") {
    req.resume();
    res.writeHead(200, { "Content-Type": "application/javascript; charset=utf-8", "Cache-Control": "no-store" });
    res.end(AP_SCRIPT);
    return true;
  }
  if (method === "POST" && path === "/atlassian-connect/context-token") {
    contextToken(ctx, req, res).catch((err: Error) => sendJson(res, 500, { error: err.message }));
    return true;
  }
  if (method !== "GET") return false;
  const settings = SETTINGS_PATH.exec(path);
  const page = settings ? null : PAGE_PATH.exec(path);
  if (!settings && !page) return false;
  req.resume();
  if (settings) settingsPage(ctx, res, settings, params);
  else if (page) repositoryPage(ctx, res, page, params);
  return true;
}
