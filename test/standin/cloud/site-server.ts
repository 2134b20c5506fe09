import type http from "node:http";
import { basicTokenAuth, parseAuthorization, verifyAccessToken, verifyAppJwt, type AuthOutcome } from "./auth";
import { serveGitHttp } from "./git-backend";
import { serveHostPage } from "./host-page";
import { serveLfs } from "./lfs";
import { maybeOAuthToken, oauthAuthorize } from "./oauth";
import { parseBody, readBody, sendJson } from "./http-util";
import { missingScopes } from "./scopes";
import type { ServerContext } from "./server-context";
import { memberOf } from "./state";
import type { GitCall, RecordedCall } from "./types";

/**
 * The site server (plays https://bitbucket.org): the JWT grant at POST /site/oauth2/access_token, and git
 * smart HTTP at /{workspace}/{repo}.git/… which requires an access token, and the pages that frame the app (host-page.ts).
 */

const TOKEN_PATH = "/site/oauth2/access_token";
const JWT_GRANT = "urn:bitbucket:oauth2:jwt";
const GIT_PATH = /^\/([^/]+)\/([^/]+?)\.git(\/.*)?$/;

function splitUrl(rawUrl: string): { path: string; query: string } {
  const q = rawUrl.indexOf("?");
  return { path: q < 0 ? rawUrl : rawUrl.slice(0, q), query: q < 0 ? "" : rawUrl.slice(q + 1) };
}

async function accessToken(ctx: ServerContext, req: http.IncomingMessage, res: http.ServerResponse, call: RecordedCall): Promise<void> {
  // An OAuth consumer's grant (authorization_code, refresh_token) is answered by oauth.ts.
  const raw = call.method === "POST" ? await maybeOAuthToken(ctx, req, res, call) : await readBody(req);
  if (raw === true) return;
  call.body = parseBody(raw, req.headers["content-type"]);
  if (call.method !== "POST") {
    sendJson(res, 405, { error: "invalid_request", error_description: "The token endpoint only accepts POST." });
    return;
  }
  const type = String(req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    sendJson(res, 400, { error: "invalid_request", error_description: "Send the grant as application/x-www-form-urlencoded." });
    return;
  }
  const grant = new URLSearchParams(raw.toString("utf8")).get("grant_type");
  if (grant !== JWT_GRANT) {
    sendJson(res, 400, { error: "unsupported_grant_type", error_description: `Unsupported grant type: ${grant ?? "(none)"}` });
    return;
  }
  const auth = parseAuthorization(req.headers.authorization);
  if (!auth || auth.scheme !== "jwt") {
    sendJson(res, 401, { error: "invalid_grant", error_description: 'The JWT grant needs "Authorization: JWT <token>".' });
    return;
  }
  const outcome = verifyAppJwt(ctx.state, auth.value, "POST", ctx.state.urls.site + (req.url ?? TOKEN_PATH), ctx.state.urls.site);
  call.auth = "jwt";
  call.clientKey = outcome.ok ? outcome.install.clientKey : outcome.clientKey;
  if (!outcome.ok) {
    sendJson(res, 401, { error: "invalid_grant", error_description: outcome.message });
    return;
  }
  const scopes = ctx.state.scopesOf(outcome.install);
  const issued = ctx.tokens.issue(outcome.install.clientKey, outcome.install.workspace, scopes, ctx.tokenTtlSeconds);
  sendJson(res, 200, { access_token: issued.value, scopes: scopes.join(" "), expires_in: ctx.tokenTtlSeconds, token_type: "bearer" });
}

function gitAuth(ctx: ServerContext, req: http.IncomingMessage): AuthOutcome {
  const auth = parseAuthorization(req.headers.authorization);
  if (auth?.scheme === "bearer") return verifyAccessToken(ctx.state, ctx.tokens, auth.value, "bearer");
  if (auth?.scheme === "basic") {
    const token = basicTokenAuth(auth.value);
    if (token) return verifyAccessToken(ctx.state, ctx.tokens, token, "basic");
    return { ok: false, kind: "basic", clientKey: null, message: "Basic credentials must be x-token-auth:<access token>" };
  }
  return { ok: false, kind: null, clientKey: null, message: "Authentication required" };
}

async function git(ctx: ServerContext, req: http.IncomingMessage, res: http.ServerResponse, m: RegExpExecArray, query: string, call: GitCall): Promise<void> {
  const outcome = gitAuth(ctx, req);
  call.auth = outcome.kind;
  call.clientKey = outcome.ok ? outcome.install.clientKey : outcome.clientKey;
  if (!outcome.ok) {
    req.resume();
    res.writeHead(401, { "WWW-Authenticate": 'Basic realm="Bitbucket"', "Content-Type": "text/plain" });
    res.end(`${outcome.message}\n`);
    return;
  }
  const repo = ctx.state.findRepository(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
  if (!repo || !memberOf(outcome.install, repo.workspace)) {
    req.resume();
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("Repository not found\n");
    return;
  }
  const needs = call.service === "git-receive-pack" ? "repository:write" : "repository";
  if (missingScopes(ctx.state.scopesOf(outcome.install), [needs]).length > 0) {
    req.resume();
    res.writeHead(403, { "Content-Type": "text/plain" });
    res.end(`The access token lacks the ${needs} scope\n`);
    return;
  }
  const tail = m[3] ?? "/";
  if (await serveLfs(repo.gitDir, `${ctx.state.urls.site}/${repo.workspace}/${repo.slug}.git`, tail, req, res)) return;
  await serveGitHttp(ctx.git, ctx.repos.root, req, res, `/${repo.workspace}/${repo.slug}.git${tail}`, query, "x-token-auth");
}

export function createSiteHandler(ctx: ServerContext): http.RequestListener {
  return (req, res) => {
    const method = (req.method ?? "GET").toUpperCase();
    const { path, query } = splitUrl(req.url ?? "/");
    const gitMatch = GIT_PATH.exec(path);
    const onError = (err: unknown): void => {
      if (!res.headersSent) sendJson(res, 500, { type: "error", error: { message: `stand-in error: ${(err as Error).message}` } });
      else res.destroy();
    };

    if (gitMatch) {
      const service = new URLSearchParams(query).get("service") ?? (/\/(git-[a-z-]+)$/.exec(path)?.[1] ?? null);
      const call: GitCall = { method, path, service, auth: null, clientKey: null, status: 0, responseBytes: 0, at: new Date() };
      ctx.state.gitCalls.push(call);
      const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
      res.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (typeof chunk === "string" || Buffer.isBuffer(chunk)) call.responseBytes += Buffer.byteLength(chunk);
        return write(chunk, ...rest);
      }) as typeof res.write;
      res.on("finish", () => {
        call.status = res.statusCode;
      });
      const failure = ctx.failures.take("git", method, path);
      if (failure) {
        call.status = ctx.failures.apply(failure, req, res);
        return;
      }
      git(ctx, req, res, gitMatch, query, call).catch(onError);
      return;
    }

    const call: RecordedCall = { server: "site", method, path, query, headers: { ...req.headers }, body: undefined, status: 0, auth: null, clientKey: null, at: new Date() };
    ctx.state.calls.push(call);
    res.on("finish", () => {
      call.status = res.statusCode;
    });
    const failure = ctx.failures.take("site", method, path);
    if (failure) {
      call.status = ctx.failures.apply(failure, req, res);
      return;
    }
    if (path === TOKEN_PATH) {
      accessToken(ctx, req, res, call).catch(onError);
      return;
    }
    if (path === "/site/oauth2/authorize") {
      oauthAuthorize(ctx, req, res, query, call);
      return;
    }
    if (serveHostPage(ctx, req, res, method, path, query)) return;
    req.resume();
    sendJson(res, 404, { type: "error", error: { message: "Resource not found" } });
  };
}
