import type http from "node:http";
import { accountRoutes } from "./api-account";
import { permissionRoutes } from "./api-permissions";
import { hookRoutes } from "./api-hooks";
import { ApiError, type ApiRequest, type Route } from "./api-route";
import { sourceRoutes } from "./api-source";
import { sshKeyRoutes } from "./api-ssh-keys";
import { oauthRoutes } from "./oauth";
import { statusRoutes } from "./api-statuses";
import { parseAuthorization, verifyAccessToken, verifyAppJwt, type AuthOutcome } from "./auth";
import { parseBody, readBody, sendError, sendJson } from "./http-util";
import { missingScopes } from "./scopes";
import type { ServerContext } from "./server-context";
import type { RecordedCall } from "./types";

/**
 * The API server (plays https://api.bitbucket.org): every call is recorded, failure injection comes first,
 * then authentication (Connect JWT or Bearer access token), the X-OAuth-Scopes header, the scope check of
 * the endpoint, and the endpoint itself.
 */

const ROUTES: Route[] = [...oauthRoutes, ...accountRoutes, ...permissionRoutes, ...sourceRoutes, ...statusRoutes, ...hookRoutes, ...sshKeyRoutes];

function decodeParam(p: string | undefined): string {
  if (p === undefined) return "";
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

function authenticate(ctx: ServerContext, req: http.IncomingMessage, method: string, rawUrl: string): AuthOutcome {
  const auth = parseAuthorization(req.headers.authorization);
  if (!auth) return { ok: false, kind: null, clientKey: null, message: "This API is only accessible with the following authentication types: session, password, apppassword, api_token, jwt, oauth2" };
  if (auth.scheme === "jwt") return verifyAppJwt(ctx.state, auth.value, method, ctx.state.urls.api + rawUrl, ctx.state.urls.api);
  if (auth.scheme === "bearer") return verifyAccessToken(ctx.state, ctx.tokens, auth.value, "bearer");
  return { ok: false, kind: null, clientKey: null, message: `Authorization scheme "${auth.scheme}" is not accepted here; send "JWT <token>" or "Bearer <access token>"` };
}

async function handle(ctx: ServerContext, req: http.IncomingMessage, res: http.ServerResponse, call: RecordedCall): Promise<void> {
  const method = call.method;
  const rawUrl = req.url ?? "/";
  const failure = ctx.failures.take("api", method, call.path);
  if (failure) {
    call.status = ctx.failures.apply(failure, req, res);
    return;
  }
  const raw = await readBody(req);
  call.body = parseBody(raw, req.headers["content-type"]);

  const outcome = authenticate(ctx, req, method, rawUrl);
  call.auth = outcome.kind;
  call.clientKey = outcome.ok ? outcome.install.clientKey : outcome.clientKey;
  if (!outcome.ok) {
    sendError(res, 401, outcome.message);
    return;
  }
  const granted = ctx.state.scopesOf(outcome.install);
  res.setHeader("X-OAuth-Scopes", granted.join(", "));

  let pathKnown = false;
  for (const route of ROUTES) {
    const m = route.pattern.exec(call.path);
    if (!m) continue;
    pathKnown = true;
    if (route.method !== method) continue;
    const apiReq: ApiRequest = {
      ctx,
      method,
      params: m.slice(1).map(decodeParam),
      query: new URLSearchParams(call.query),
      body: call.body,
      install: outcome.install,
    };
    const required = typeof route.scopes === "function" ? route.scopes(apiReq) : route.scopes;
    res.setHeader("X-Accepted-OAuth-Scopes", required.join(", "));
    if (missingScopes(granted, required).length > 0) {
      sendError(res, 403, "Your credentials lack one or more required privilege scopes.", { detail: { granted, required } });
      return;
    }
    try {
      const out = await route.handle(apiReq);
      if (out.raw) {
        res.writeHead(out.status, { "Content-Type": out.raw.contentType, "Content-Length": out.raw.body.length });
        res.end(out.raw.body);
      } else if (out.json === undefined) {
        res.writeHead(out.status);
        res.end();
      } else sendJson(res, out.status, out.json);
    } catch (err) {
      if (err instanceof ApiError) sendError(res, err.status, err.message, err.extra);
      else throw err;
    }
    return;
  }
  if (pathKnown) sendError(res, 405, `Method ${method} is not allowed on ${call.path}`);
  else sendError(res, 404, "Resource not found");
}

export function createApiHandler(ctx: ServerContext): http.RequestListener {
  return (req, res) => {
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const call: RecordedCall = {
      server: "api",
      method: (req.method ?? "GET").toUpperCase(),
      path: q < 0 ? rawUrl : rawUrl.slice(0, q),
      query: q < 0 ? "" : rawUrl.slice(q + 1),
      headers: { ...req.headers },
      body: undefined,
      status: 0,
      auth: null,
      clientKey: null,
      at: new Date(),
    };
    ctx.state.calls.push(call);
    res.on("finish", () => {
      call.status = res.statusCode;
    });
    handle(ctx, req, res, call).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, `stand-in error: ${(err as Error).message}`);
      else res.destroy();
    });
  };
}
