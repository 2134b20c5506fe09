import { createHmac, randomBytes, randomUUID } from "node:crypto";
import type http from "node:http";
import type { ApiRequest, Route } from "./api-route";
import { ok, paginate } from "./api-route";
import type { GitRepos } from "./git-repos";
import { delay, parseBody, readBody, request, sendJson } from "./http-util";
import { accountId, bracedUuid } from "./ids";
import { pushData } from "./payloads";
import type { ServerContext } from "./server-context";
import type { HookRecord, InstallRecord, RepositoryRecord, State } from "./state";
import type { OAuthUser, OAuthConsumer, Grant } from "./oauth-state";
export type { OAuthUser, OAuthConsumer } from "./oauth-state";
import type { CommitOptions, CommitResult, PushChangeSpec, RecordedCall } from "./types";

/**
 * Bitbucket Cloud's OAuth 2.0 side, for apps that connect through an OAuth consumer instead of Connect:
 * - `GET {site}/site/oauth2/authorize?client_id&response_type=code&state` approves at once as the signed-in user
 *   (`loginAs`) and redirects to the consumer's callback with `code` and `state`;
 * - `POST {site}/site/oauth2/access_token`, HTTP Basic with the consumer's key and secret, for
 *   `grant_type=authorization_code` (single-use codes) and `refresh_token` (revocable); access tokens expire;
 * - an OAuth access token acts as its user: it sees every workspace the user belongs to;
 * - `GET /2.0/user` (the user) and `GET /2.0/user/permissions/workspaces` (scope `team`);
 * - plain repository webhooks: the bare payload, `X-Hub-Signature: sha256=…` with the hook's secret.
 */

const DEFAULT_SCOPES = ["account", "account:write", "team", "repository", "repository:write", "pullrequest", "pullrequest:write", "issue", "snippet", "wiki", "webhook"];

/** The pseudo-installation an OAuth token acts as: its user, in all the user's workspaces. */
function oauthInstall(state: State, consumer: OAuthConsumer, user: OAuthUser): InstallRecord {
  const clientKey = `oauth:${consumer.key}:${user.uuid}`;
  let inst = state.installs.get(clientKey);
  if (!inst) {
    inst = {
      clientKey,
      appKey: consumer.key,
      workspace: [...user.workspaces.keys()][0] ?? "",
      appBaseUrl: "",
      descriptor: { key: consumer.key, scopes: consumer.scopes },
      secrets: [],
      installed: true,
      hookUuids: new Map(),
    };
    state.installs.set(clientKey, inst);
  }
  inst.workspaces = [...user.workspaces.keys()];
  inst.oauthUser = user.uuid;
  return inst;
}

/** GET /site/oauth2/authorize — approves at once for the signed-in user. */
export function oauthAuthorize(ctx: ServerContext, req: http.IncomingMessage, res: http.ServerResponse, query: string, call: RecordedCall): void {
  req.resume();
  const q = new URLSearchParams(query);
  const consumer = ctx.state.oauth.consumers.get(q.get("client_id") ?? "");
  if (!consumer) return sendJson(res, 400, { error: "invalid_client", error_description: "Invalid client_id" });
  if (q.get("response_type") !== "code") return sendJson(res, 400, { error: "unsupported_response_type", error_description: "response_type must be code" });
  const user = ctx.state.oauth.signedIn ? ctx.state.oauth.users.get(ctx.state.oauth.signedIn) : undefined;
  if (!user) return sendJson(res, 401, { error: "login_required", error_description: "No user is signed in to the stand-in (loginAs first)" });
  call.clientKey = `oauth:${consumer.key}:${user.uuid}`;
  const code = randomBytes(12).toString("hex");
  ctx.state.oauth.codes.set(code, { consumer: consumer.key, user: user.uuid, expiresAt: Date.now() + 60_000 });
  const back = new URL(consumer.callbackUrl);
  back.searchParams.set("code", code);
  const state = q.get("state");
  if (state !== null) back.searchParams.set("state", state);
  res.writeHead(302, { Location: back.toString() });
  res.end();
}

function consumerOf(ctx: ServerContext, header: string | undefined): OAuthConsumer | null {
  const m = /^\s*Basic\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m) return null;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const consumer = ctx.state.oauth.consumers.get(decoded.slice(0, colon));
  return consumer && colon > 0 && consumer.secret === decoded.slice(colon + 1) ? consumer : null;
}

/** POST /site/oauth2/access_token for authorization_code and refresh_token (the body is already read). */
export function oauthToken(ctx: ServerContext, req: http.IncomingMessage, res: http.ServerResponse, form: URLSearchParams, call: RecordedCall): void {
  const consumer = consumerOf(ctx, req.headers.authorization);
  call.auth = "basic";
  if (!consumer) return sendJson(res, 401, { error: "invalid_client", error_description: "Client credentials missing or invalid" });
  const o = ctx.state.oauth;
  let grant: Grant;
  let refreshToken: string;
  if (form.get("grant_type") === "authorization_code") {
    const code = o.codes.get(form.get("code") ?? "");
    o.codes.delete(form.get("code") ?? "");
    if (!code || code.consumer !== consumer.key || code.expiresAt < Date.now()) return sendJson(res, 400, { error: "invalid_grant", error_description: "The authorization code is invalid or expired" });
    refreshToken = randomBytes(16).toString("base64url");
    grant = { consumer: consumer.key, user: code.user, revoked: false };
    o.refreshTokens.set(refreshToken, grant);
  } else {
    refreshToken = form.get("refresh_token") ?? "";
    const found = o.refreshTokens.get(refreshToken);
    if (!found || found.consumer !== consumer.key || found.revoked) return sendJson(res, 400, { error: "invalid_grant", error_description: "Invalid refresh_token" });
    grant = found;
  }
  const user = o.users.get(grant.user);
  if (!user) return sendJson(res, 400, { error: "invalid_grant", error_description: "The user no longer exists" });
  const inst = oauthInstall(ctx.state, consumer, user);
  call.clientKey = inst.clientKey;
  const issued = ctx.tokens.issue(inst.clientKey, inst.workspace, consumer.scopes, ctx.tokenTtlSeconds);
  sendJson(res, 200, { access_token: issued.value, refresh_token: refreshToken, scopes: consumer.scopes.join(" "), expires_in: ctx.tokenTtlSeconds, token_type: "bearer", state: "authorization_code" });
}

/** Reads the token request's form and answers it when it is an OAuth consumer's grant; false for the JWT grant. */
export async function maybeOAuthToken(ctx: ServerContext, req: http.IncomingMessage, res: http.ServerResponse, call: RecordedCall): Promise<Buffer | true> {
  const raw = await readBody(req);
  const form = new URLSearchParams(raw.toString("utf8"));
  const grant = form.get("grant_type");
  if (grant === "authorization_code" || grant === "refresh_token") {
    call.body = parseBody(raw, req.headers["content-type"]);
    oauthToken(ctx, req, res, form, call);
    return true;
  }
  return raw;
}

function userObject(ctx: ServerContext, u: OAuthUser): Record<string, unknown> {
  return {
    type: "user",
    uuid: u.uuid,
    account_id: u.accountId,
    nickname: u.nickname,
    display_name: u.displayName,
    links: { self: { href: `${ctx.state.urls.api}/2.0/users/${encodeURIComponent(u.uuid)}` } },
  };
}

/** The OAuth user of a request, or undefined for a Connect installation. */
export function oauthUserOf(req: ApiRequest): OAuthUser | undefined {
  return req.install.oauthUser ? req.ctx.state.oauth.users.get(req.install.oauthUser) : undefined;
}

export function oauthUserJson(req: ApiRequest): Record<string, unknown> | undefined {
  const u = oauthUserOf(req);
  return u && userObject(req.ctx, u);
}

export const oauthRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/2\.0\/user\/permissions\/workspaces\/?$/,
    scopes: ["team"],
    handle: (req) => {
      const u = oauthUserOf(req);
      const memberships = u ? [...u.workspaces] : [[req.install.workspace, "member"] as const];
      const values = memberships.map(([slug, permission]) => {
        const ws = req.ctx.state.workspace(slug);
        return {
          type: "workspace_membership",
          permission,
          user: u ? userObject(req.ctx, u) : null,
          workspace: { type: "workspace", uuid: ws.uuid, slug: ws.slug, name: ws.name, links: { self: { href: `${req.ctx.state.urls.api}/2.0/workspaces/${ws.slug}` } } },
        };
      });
      return ok(paginate(req, "/2.0/user/permissions/workspaces", values));
    },
  },
];

export interface PlainDelivery {
  hook: HookRecord;
  url: string;
  requestUuid: string;
  status: number;
  body: string;
  attempts: number;
}

/**
 * Delivers `payload` (the bare body) to every active hook of the repository subscribed to `event`, as Bitbucket
 * Cloud does for a plain webhook: X-Event-Key, X-Hook-UUID, X-Request-UUID (the same on every attempt),
 * X-Attempt-Number, X-Hub-Signature `sha256=<hex>` when the hook has a secret; up to two retries on 5xx or no answer.
 */
export async function deliverToHooks(
  inflight: Set<http.ClientRequest>,
  repo: RepositoryRecord,
  event: string,
  payload: unknown,
  opts: { requestUuid?: string; rawBody?: string; signature?: string | null; retryDelayMs?: number } = {},
): Promise<PlainDelivery[]> {
  const out: PlainDelivery[] = [];
  const body = Buffer.from(opts.rawBody ?? JSON.stringify(payload));
  for (const hook of repo.hooks.values()) {
    if (!hook.active || !hook.events.includes(event)) continue;
    const requestUuid = opts.requestUuid ?? randomUUID();
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "User-Agent": "Bitbucket-Webhooks/2.0",
      "X-Event-Key": event,
      "X-Event-Time": new Date().toUTCString(),
      "X-Hook-UUID": hook.uuid.replace(/[{}]/g, ""),
      "X-Request-UUID": requestUuid,
    };
    const signature = opts.signature !== undefined ? opts.signature : hook.secret ? `sha256=${createHmac("sha256", hook.secret).update(body).digest("hex")}` : null;
    if (signature !== null) headers["X-Hub-Signature"] = signature;
    let result = { status: 0, body: "" };
    let attempts = 0;
    for (let attempt = 1; attempt <= 3; attempt++) {
      attempts = attempt;
      if (attempt > 1) await delay((opts.retryDelayMs ?? 100) * (attempt - 1));
      try {
        const res = await request(hook.url, { method: "POST", headers: { ...headers, "X-Attempt-Number": String(attempt) }, body, timeoutMs: 10_000, inflight });
        result = { status: res.status, body: res.body };
        if (res.status < 500) break;
      } catch (err) {
        result = { status: 0, body: (err as Error).message };
      }
    }
    out.push({ hook, url: hook.url, requestUuid, status: result.status, body: result.body, attempts });
  }
  return out;
}

/** What tests drive through `cloud.oauth`. */
export interface OAuthStandin {
  /** Registers a consumer (what an administrator creates under Workspace settings → OAuth consumers). */
  addConsumer(key: string, secret: string, callbackUrl: string, scopes?: string[]): void;
  /** A Bitbucket user, member of these workspaces (created on first use). */
  addUser(nickname: string, workspaces: Record<string, "owner" | "collaborator" | "member"> | string[]): OAuthUser;
  /** The user the authorization page approves as. */
  loginAs(uuidOrNickname: string | null): void;
  /** Revokes every refresh token (and access token) of the user's grants: "Revoke" under Settings → App authorizations. */
  revokeGrant(uuidOrNickname: string): void;
  /** Commits, then delivers repo:push to the repository's plain webhooks (signed with each hook's secret). */
  pushAndDeliver(workspace: string, slug: string, opts: CommitOptions, delivery?: { requestUuid?: string }): Promise<{ commit: CommitResult; deliveries: PlainDelivery[] }>;
  deliver(workspace: string, slug: string, event: string, payload: unknown, opts?: { requestUuid?: string; rawBody?: string; signature?: string | null }): Promise<PlainDelivery[]>;
}

export function createOAuthStandin(state: State, repos: GitRepos, tokens: ServerContext["tokens"], inflight: Set<http.ClientRequest>): OAuthStandin {
  const userOf = (id: string): OAuthUser => {
    const u = state.oauth.users.get(id) ?? [...state.oauth.users.values()].find((x) => x.nickname === id);
    if (!u) throw new Error(`no OAuth user ${id} in the stand-in`);
    return u;
  };
  return {
    addConsumer(key, secret, callbackUrl, scopes = DEFAULT_SCOPES) {
      state.oauth.consumers.set(key, { key, secret, callbackUrl, scopes });
    },
    addUser(nickname, workspaces) {
      const entries: [string, "owner" | "collaborator" | "member"][] = Array.isArray(workspaces) ? workspaces.map((w) => [w, "owner"]) : Object.entries(workspaces);
      for (const [slug] of entries) state.workspace(slug);
      const u: OAuthUser = { uuid: bracedUuid(), nickname, displayName: nickname, accountId: accountId(), workspaces: new Map(entries) };
      state.oauth.users.set(u.uuid, u);
      return u;
    },
    loginAs(id) {
      state.oauth.signedIn = id === null ? null : userOf(id).uuid;
    },
    revokeGrant(id) {
      const u = userOf(id);
      for (const g of state.oauth.refreshTokens.values()) if (g.user === u.uuid) g.revoked = true;
      for (const inst of state.installs.values()) if (inst.oauthUser === u.uuid) tokens.revokeAll(inst.clientKey);
    },
    async pushAndDeliver(workspace, slug, opts, delivery = {}) {
      const repo = state.repository(workspace, slug);
      const commit = await repos.commit(repo.gitDir, repo.mainBranch, opts);
      const head = await repos.commitInfo(repo.gitDir, commit.hash);
      const old = commit.previous ? await repos.commitInfo(repo.gitDir, commit.previous) : null;
      const changes: PushChangeSpec[] = [{ type: "branch", name: commit.branch, old, new: head, commits: [head] }];
      const payload = pushData({ urls: state.urls, dev: state.developer, ws: state.workspace(repo.workspace), repo }, changes);
      return { commit, deliveries: await deliverToHooks(inflight, repo, "repo:push", payload, delivery) };
    },
    deliver(workspace, slug, event, payload, opts = {}) {
      return deliverToHooks(inflight, state.repository(workspace, slug), event, payload, opts);
    },
  };
}

