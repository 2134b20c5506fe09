import { randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type net from "node:net";
import path from "node:path";
import { SignJWT, exportJWK, generateKeyPair, type JWK, type KeyObject } from "jose";
import { parse as parseYaml } from "yaml";
import type { BitbucketCloud } from "../cloud";

/**
 * A stand-in for Atlassian Forge in front of the Bitbucket Cloud stand-in, as a real HTTP server on 127.0.0.1:
 * - its own signing key, published as a JWKS (`jwksUrl`); keys can be rotated;
 * - Forge Invocation Tokens with the documented claims (iss forge/invocation-token, aud the app id, a short exp,
 *   app.installationId / apiBaseUrl / installation.contexts, and for UI calls `context` and `principal`);
 * - the app's system token in `x-forge-oauth-system` (a JWT with exp, accepted by the Cloud stand-in's API and git);
 * - event delivery to the remote's endpoints with Forge's 5-second timeout and up to 4 retries (`retryContext`);
 * - the Custom UI host: `/host/<module key>` serves the app's static resource with a bridge (`window.__bridge`) whose
 *   `invoke` the stand-in answers by signing a FIT and calling the remote, as Forge does. Given the app's manifest, it
 *   hosts only the UI modules the manifest declares with a resource and a resolver endpoint on a remote (404
 *   otherwise), and the page's context and tokens name the module's type (`bitbucket:repoSettingsMenuPage`, …).
 */
export interface ForgeStandin {
  readonly url: string;
  readonly jwksUrl: string;
  readonly appId: string;
  install(workspace: string, opts?: { scopes?: string[] }): Promise<ForgeInstall>;
  /** The app installed again in the same workspace: a new installation id. */
  reinstall(previous: ForgeInstall): Promise<ForgeInstall>;
  /** A FIT for this installation (`overrides` replace or add claims: for tests of refusals). */
  fit(inst: ForgeInstall, opts?: { context?: UiContext; overrides?: Record<string, unknown>; expiresInSeconds?: number }): Promise<string>;
  /** A fresh system token (valid `ttlSeconds`, default 3 h) that the Cloud stand-in accepts. */
  systemToken(inst: ForgeInstall, ttlSeconds?: number): Promise<string>;
  /** POSTs an event to `/forge/events` as Forge does (5 s timeout, retries); returns each attempt's status (0: timed out). */
  sendEvent(inst: ForgeInstall, payload: Record<string, unknown>, opts?: { path?: string }): Promise<number[]>;
  /** The hourly scheduled trigger. */
  tick(inst: ForgeInstall): Promise<number>;
  /** The custom merge check: Forge's payload to the check's endpoint; the remote's `{success, message}`. */
  mergeCheck(inst: ForgeInstall, repositoryUuid: string, pullRequestId: number): Promise<{ status: number; body: { success?: boolean; message?: string } }>;
  /** invokeRemote from a page of `repositoryUuid`: the remote's answer as Forge returns it to the page. */
  invokeRemote(inst: ForgeInstall, input: InvokeInput, context: UiContext): Promise<{ status: number; headers: Record<string, string>; body: unknown }>;
  /** The page of a UI module of the installation as Bitbucket shows it, for a browser. */
  hostPageUrl(inst: ForgeInstall, moduleKey: string, context: UiContext): string;
  /** Every `navigate` the page asked the bridge for. */
  readonly navigations: string[];
  /** Every system token sent to the remote (`x-forge-oauth-system`), in order, with the path of the call. */
  readonly systemTokensSent: { installationId: string; path: string; token: string; expiresAt: number }[];
  rotateKey(): Promise<void>;
  stop(): Promise<void>;
}

export interface ForgeInstall {
  installationId: string;
  workspace: string;
  workspaceUuid: string;
  /** The Cloud stand-in's client key of this installation (its token's owner). */
  clientKey: string;
}

export interface UiContext {
  repositoryUuid: string;
  /** The user the page is shown to (the token's `principal`); a user of the stand-in's own by default. */
  accountId?: string;
  workspaceUuid?: string;
  location?: string;
  /** The UI module's type (`context.extension.type`); the panel's by default. */
  moduleType?: string;
}

export interface InvokeInput {
  path: string;
  method: string;
  body?: unknown;
}

export interface ForgeStandinOptions {
  cloud: BitbucketCloud;
  /** The remote's base URL (the manifest's `remotes[].baseUrl`), read at each call. */
  remoteBaseUrl: () => string;
  /** The Custom UI resource folder (the built static/pages); the remote is allowed in img-src, as `permissions.external.images` asks. */
  resourceDir?: string;
  /** The app's manifest.yml (its text): only the UI modules it declares are hosted, each as the type it declares. */
  manifest?: string;
  appId?: string;
  eventTimeoutMs?: number;
  retryDelayMs?: number;
}

const ENDPOINTS = { events: "/forge/events", lifecycle: "/forge/lifecycle", tick: "/forge/tick", mergeCheck: "/forge/merge-check" };
const PANEL_TYPE = "bitbucket:repoCodeOverviewPanel";

/**
 * The Bitbucket UI modules of a manifest, by key → type, each checked as Forge deploys it: a `resource` the manifest
 * lists, and a `resolver.endpoint` that is an endpoint on one of its remotes.
 */
function uiModulesOf(manifestText: string): Map<string, string> {
  const m = parseYaml(manifestText) as { modules?: Record<string, unknown>; resources?: { key: string }[]; remotes?: { key: string }[] };
  const modules = m.modules ?? {};
  const resources = new Set((m.resources ?? []).map((r) => r.key));
  const remotes = new Set((m.remotes ?? []).map((r) => r.key));
  const endpoints = new Map(((modules.endpoint ?? []) as { key: string; remote?: string }[]).map((e) => [e.key, e.remote]));
  const out = new Map<string, string>();
  for (const [type, list] of Object.entries(modules)) {
    if (!type.startsWith("bitbucket:") || !Array.isArray(list)) continue;
    for (const mod of list as { key: string; resource?: string; resolver?: { endpoint?: string } }[]) {
      if (!mod.resource) continue;
      if (!resources.has(mod.resource)) throw new Error(`module ${mod.key}: resource ${mod.resource} is not in resources`);
      const endpoint = mod.resolver?.endpoint;
      const remote = endpoint ? endpoints.get(endpoint) : undefined;
      if (!endpoint || !remote || !remotes.has(remote)) throw new Error(`module ${mod.key}: its resolver names no endpoint on a remote`);
      out.set(mod.key, type);
    }
  }
  return out;
}

export async function startForgeStandin(opts: ForgeStandinOptions): Promise<ForgeStandin> {
  const appId = opts.appId ?? `ari:cloud:ecosystem::app/${randomUUID()}`;
  const environmentId = `ari:cloud:ecosystem::environment/${appId.split("/")[1]}/${randomUUID()}`;
  let keys: { kid: string; privateKey: KeyObject; jwk: JWK }[] = [];
  const newKey = async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const kid = randomUUID();
    return { kid, privateKey: privateKey as KeyObject, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
  };
  keys.push(await newKey());
  const navigations: string[] = [];
  const systemTokensSent: ForgeStandin["systemTokensSent"][number][] = [];
  const installs = new Map<string, ForgeInstall>();
  const uiModules = opts.manifest ? uiModulesOf(opts.manifest) : null;

  const fit = async (inst: ForgeInstall, o: { context?: UiContext; overrides?: Record<string, unknown>; expiresInSeconds?: number } = {}) => {
    const key = keys.at(-1)!;
    const claims: Record<string, unknown> = {
      app: {
        id: appId,
        installationId: inst.installationId,
        apiBaseUrl: opts.cloud.apiUrl,
        environment: { type: "PRODUCTION", id: environmentId },
        installation: { id: inst.installationId, contexts: [{ workspaceId: inst.workspaceUuid }] },
        module: { key: "pipelines", type: "core:endpoint" },
      },
      ...(o.context
        ? {
            context: { workspaceId: o.context.workspaceUuid ?? inst.workspaceUuid, extension: { type: o.context.moduleType ?? PANEL_TYPE, repository: { uuid: o.context.repositoryUuid } } },
            principal: o.context.accountId ?? "557058:standin-user",
          }
        : {}),
      ...o.overrides,
    };
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: key.kid })
      .setIssuer(String(o.overrides?.iss ?? "forge/invocation-token"))
      .setAudience(String(o.overrides?.aud ?? appId))
      .setIssuedAt()
      .setNotBefore("0s")
      .setExpirationTime(`${o.expiresInSeconds ?? 60}s`)
      .setJti(randomUUID())
      .sign(key.privateKey);
  };

  const systemToken = async (inst: ForgeInstall, ttlSeconds = 3 * 3600) => {
    const expiresAt = Date.now() + ttlSeconds * 1000;
    const token = await new SignJWT({ installationId: inst.installationId, nonce: randomUUID() })
      .setProtectedHeader({ alg: "RS256", kid: keys.at(-1)!.kid })
      .setIssuer("forge/app-system-token")
      .setExpirationTime(Math.floor(expiresAt / 1000))
      .sign(keys.at(-1)!.privateKey);
    opts.cloud.acceptToken(token, inst.clientKey, expiresAt);
    return { token, expiresAt };
  };

  /** One call as Forge makes it: FIT, system token, JSON; `timeoutMs` like Forge's (5 s for events). */
  const call = async (inst: ForgeInstall, method: string, p: string, body: unknown, o: { context?: UiContext; timeoutMs?: number } = {}) => {
    const system = await systemToken(inst);
    systemTokensSent.push({ installationId: inst.installationId, path: p, ...system });
    const headers: Record<string, string> = {
      Authorization: `Bearer ${await fit(inst, { context: o.context })}`,
      "x-forge-oauth-system": system.token,
      Accept: "application/json",
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(opts.remoteBaseUrl().replace(/\/+$/, "") + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(o.timeoutMs ?? 25_000) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = { error: `the remote answered something that is not JSON: ${text.slice(0, 200)}` };
    }
    const outHeaders: Record<string, string> = {};
    res.headers.forEach((v, k) => (outHeaders[k] = v));
    return { status: res.status, headers: outHeaders, body: json };
  };

  const deliver = async (inst: ForgeInstall, p: string, payload: Record<string, unknown>) => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt <= 4; attempt++) {
      const body = attempt === 0 ? payload : { ...payload, retryContext: { retryCount: attempt, retryReason: statuses.at(-1) === 0 ? "TIMEOUT" : "FUNCTION_ERROR" } };
      try {
        const res = await call(inst, "POST", p, body, { timeoutMs: opts.eventTimeoutMs ?? 5_000 });
        statuses.push(res.status);
        if (res.status < 500) return statuses;
      } catch {
        statuses.push(0);
      }
      await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 100));
    }
    return statuses;
  };

  const newInstall = async (workspace: string, scopes: string[]): Promise<ForgeInstall> => {
    const installationId = `ari:cloud:ecosystem::installation/${randomUUID()}`;
    const clientKey = `forge:${installationId}`;
    opts.cloud.addForgeInstall(clientKey, workspace, scopes);
    const inst = { installationId, workspace, workspaceUuid: opts.cloud.workspaceUuid(workspace), clientKey };
    installs.set(installationId, inst);
    const statuses = await deliver(inst, ENDPOINTS.lifecycle, { id: randomUUID(), installerAccountId: "557058:standin-admin", app: { id: appId, version: "1.0.0" }, environment: { id: environmentId }, eventType: "avi:forge:installed:app", context: `ari:cloud:bitbucket::workspace/${inst.workspaceUuid.slice(1, -1)}` });
    if (statuses.at(-1) !== 200) throw new Error(`the remote refused the installed event: ${statuses.join(", ")}`);
    return inst;
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: Error) => {
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(err.message);
    });
  });
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://standin");
    if (u.pathname === "/.well-known/jwks.json") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
      return;
    }
    const host = /^\/host\/([A-Za-z0-9_-]+)\/(.*)$/.exec(u.pathname);
    if (host && req.method === "GET") {
      const file = host[2] === "" ? "index.html" : host[2];
      if (uiModules && !uiModules.has(host[1])) {
        res.writeHead(404, { "Content-Type": "text/plain" }).end(`the app's manifest declares no UI module ${host[1]}`);
        return;
      }
      const dir = opts.resourceDir;
      if (!dir || !/^[A-Za-z0-9_.-]+$/.test(file) || !fs.existsSync(path.join(dir, file))) {
        res.writeHead(404).end();
        return;
      }
      let content = fs.readFileSync(path.join(dir, file));
      if (file === "index.html") {
        // Forge hosts the resource and gives it the bridge before the app's own scripts run.
        const bridge = `<script src="/bridge.js?${u.searchParams.toString()}&module=${host[1]}&moduleType=${encodeURIComponent(uiModules?.get(host[1]) ?? PANEL_TYPE)}"></script>`;
        content = Buffer.from(content.toString("utf8").replace("<head>", `<head>\n  ${bridge}`));
      }
      const type = file.endsWith(".html") ? "text/html" : file.endsWith(".css") ? "text/css" : "application/javascript";
      res.writeHead(200, { "Content-Type": `${type}; charset=utf-8`, "Content-Security-Policy": `default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: ${new URL(opts.remoteBaseUrl()).origin}` });
      res.end(content);
      return;
    }
    if (u.pathname === "/bridge.js") {
      res.writeHead(200, { "Content-Type": "application/javascript" });
      res.end(bridgeScript(Object.fromEntries(u.searchParams)));
      return;
    }
    if (u.pathname === "/bridge/invoke" && req.method === "POST") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const { installationId, repositoryUuid, accountId, moduleType, input } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { installationId: string; repositoryUuid: string; accountId?: string; moduleType?: string; input: InvokeInput };
      const inst = installs.get(installationId);
      if (!inst) {
        res.writeHead(404).end();
        return;
      }
      const answer = await call(inst, input.method, input.path, input.body, { context: { repositoryUuid, moduleType, ...(accountId ? { accountId } : {}) } });
      res.writeHead(200, { "Content-Type": "application/json" });
      // What @forge/bridge's invoke resolves with: {success, payload} (or {success: false, error}).
      res.end(JSON.stringify(answer.status < 400 ? { success: true, payload: answer } : { success: false, error: answer }));
      return;
    }
    if (u.pathname === "/bridge/navigate" && req.method === "POST") {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      navigations.push(String((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { url?: string }).url));
      res.writeHead(204).end();
      return;
    }
    if (u.pathname === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    res.writeHead(404).end();
  };
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    jwksUrl: `${url}/.well-known/jwks.json`,
    appId,
    navigations,
    install: (workspace, o = {}) => newInstall(workspace, o.scopes ?? ["read:repository:bitbucket", "read:pullrequest:bitbucket", "read:app-system-token"]),
    reinstall: (previous) => newInstall(previous.workspace, ["read:repository:bitbucket", "read:pullrequest:bitbucket", "read:app-system-token"]),
    systemTokensSent,
    fit,
    systemToken: async (inst, ttl) => (await systemToken(inst, ttl)).token,
    sendEvent: (inst, payload, o = {}) => deliver(inst, o.path ?? ENDPOINTS.events, payload),
    async tick(inst) {
      return (await call(inst, "POST", ENDPOINTS.tick, { context: { moduleKey: "pipelines-hourly" } }, { timeoutMs: 5_000 })).status;
    },
    async mergeCheck(inst, repositoryUuid, pullRequestId) {
      const r = await call(inst, "POST", ENDPOINTS.mergeCheck, { workspace: { uuid: inst.workspaceUuid }, repository: { uuid: repositoryUuid }, pullrequest: { id: pullRequestId }, trigger: { type: "on-merge" } });
      return { status: r.status, body: (r.body ?? {}) as { success?: boolean; message?: string } };
    },
    invokeRemote: (inst, input, context) => call(inst, input.method, input.path, input.body, { context }),
    hostPageUrl(inst, moduleKey, context) {
      const q = new URLSearchParams({ installationId: inst.installationId, repositoryUuid: context.repositoryUuid, workspaceUuid: inst.workspaceUuid, ...(context.accountId ? { accountId: context.accountId } : {}) });
      return `${url}/host/${moduleKey}/?${q.toString()}`;
    },
    async rotateKey() {
      keys = [keys.at(-1)!, await newKey()];
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The bridge Forge gives a Custom UI page: getContext, invoke (→ the stand-in, which signs and calls the remote), navigate. */
function bridgeScript(params: Record<string, string>): string {
  return `(function () {
  var p = ${JSON.stringify(params)};
  function post(path, body) {
    return fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }
  window.__bridge = {
    callBridge: function (name, payload) {
      if (name === "getContext") return Promise.resolve({ moduleKey: p.module, workspaceId: p.workspaceUuid, accountId: p.accountId, extension: { type: p.moduleType, repository: { uuid: p.repositoryUuid } }, environmentType: "PRODUCTION" });
      if (name === "invoke") return post("/bridge/invoke", { installationId: p.installationId, repositoryUuid: p.repositoryUuid, accountId: p.accountId, moduleType: p.moduleType, input: payload }).then(function (r) { return r.json(); });
      if (name === "navigate") return post("/bridge/navigate", payload).then(function () { return undefined; });
      return Promise.reject(new Error("the stand-in's bridge has no " + name));
    }
  };
})();`;
}
