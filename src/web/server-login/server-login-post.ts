import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import type { Logger } from "../../log/logger";
import { serverRequest, type ServerCredentials } from "../../forges/server/server-api";
import { serverConnectionOf } from "../../forges/server/server-connections";
import { currentSession, newSession } from "../oauth/session";
import { loginForm, sendPage } from "./login-page";
import { administeredRepositories, readableRepositories } from "./readable-repositories";
import { serverSessionFields } from "./server-grant";
import { serverHomePath } from "./server-paths";

class LoginRefused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Who the credentials belong to, as the Server says: the user's profile must answer 200 to the user's own credentials. */
async function verify(creds: ServerCredentials): Promise<void> {
  let res;
  try {
    res = await serverRequest(creds, "GET", `/rest/api/1.0/users/${encodeURIComponent(creds.username)}`);
  } catch {
    throw new LoginRefused(502, "the Bitbucket Server cannot be reached: try again later");
  }
  if (res.status === 401 || res.status === 404) throw new LoginRefused(401, "wrong credentials: the Bitbucket Server refused this username and password or token");
  if (res.status === 403) throw new LoginRefused(403, "the Bitbucket Server does not let this user use its REST API");
  if (res.status !== 200) throw new LoginRefused(502, `the Bitbucket Server answered HTTP ${res.status}: try again later`);
  // A token is someone's token: Server names its owner in X-AUSERNAME; it must be the user who signs in.
  const owner = res.headers.get("x-ausername");
  if ((owner !== null || creds.authKind === "token") && owner?.toLowerCase() !== creds.username.toLowerCase()) {
    throw new LoginRefused(401, "wrong credentials: this token does not belong to this username");
  }
}

/**
 * POST /server/login (a form: connection, username, secret, token) — signs a Bitbucket Server user in:
 * 1. the connection must be an active Server connection;
 * 2. the credentials are checked with that Server (`GET /rest/api/1.0/users/{username}` as the user);
 * 3. the repositories the user can read, and those they administer, are listed as the user (REPO_READ, REPO_ADMIN,
 *    every page);
 * 4. a new session records the connection, the username and that list — never the password, which is used for
 *    these two calls only and never logged.
 */
export function serverLoginPost(baseUrl: string, models: Models, log: Logger) {
  return async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const connection = typeof body.connection === "string" && /^\d{1,12}$/.test(body.connection) ? body.connection : "";
    const username = typeof body.username === "string" ? body.username.trim() : "";
    const secret = typeof body.secret === "string" ? body.secret : "";
    const refuse = (status: number, message: string) => sendPage(res, baseUrl, status, "Sign in with Bitbucket Server", loginForm(baseUrl, connection, username, message));
    if (!connection) return refuse(400, "this sign-in form must name a Bitbucket Server connection");
    if (!username || username.length > 255 || !secret || secret.length > 4096) return refuse(400, "give a username and a password or personal access token");
    const tenant = await models.Tenant.findByPk(Number(connection));
    if (!tenant || tenant.kind !== "server" || tenant.status !== "active") return refuse(404, "no Bitbucket Server connection has this id");
    const conn = await serverConnectionOf(models, tenant);
    const creds: ServerCredentials = { host: conn.host, username, authKind: body.token ? "token" : "password", secret };
    let repositories: string[];
    let adminRepositories: string[];
    try {
      await verify(creds);
      repositories = await readableRepositories(creds);
      adminRepositories = await administeredRepositories(creds);
    } catch (err) {
      const status = err instanceof LoginRefused ? err.status : 502;
      log.info("bitbucket server sign-in refused", { tenant: tenant.id, status });
      return refuse(status, (err as Error).message);
    }
    const old = await currentSession(models, req);
    if (old) await old.destroy();
    await newSession(models, req, res, serverSessionFields({ tenantId: tenant.id, username, repositories, adminRepositories }));
    log.info("bitbucket server sign-in", { tenant: tenant.id, repositories: repositories.length });
    res.set("Cache-Control", "no-store").redirect(303, `${baseUrl.replace(/\/+$/, "")}${serverHomePath(tenant.id)}`);
  };
}
