import type { ServerAuthKind } from "../../db/models/server-connection";

/** What a call to a Server needs: where, and who (the secret in plain text, only ever in the Authorization header). */
export interface ServerCredentials {
  host: string;
  username: string;
  authKind: ServerAuthKind;
  secret: string;
}

export interface ServerResponse {
  status: number;
  headers: Headers;
  text: string;
  json<T>(): T;
}

const TIMEOUT_MS = 15_000;

/** `Authorization` for a Server: Basic with username and password, or Bearer with a personal access token. */
export function serverAuthorization(c: Pick<ServerCredentials, "username" | "authKind" | "secret">): string {
  return c.authKind === "token" ? `Bearer ${c.secret}` : `Basic ${Buffer.from(`${c.username}:${c.secret}`).toString("base64")}`;
}

/** `https://host/context` without a trailing slash, or an error naming what is wrong with it. */
export function normaliseHost(host: string): string {
  let u: URL;
  try {
    u = new URL(host);
  } catch {
    throw new Error(`the host ${JSON.stringify(host)} is not a URL (give it as https://bitbucket.example.com)`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error(`the host must be an http(s) URL, not ${u.protocol}`);
  if (u.username || u.password || u.search || u.hash) throw new Error("the host URL must not carry credentials, a query or a fragment");
  return `${u.origin}${u.pathname.replace(/\/+$/, "")}`;
}

/** One REST call; throws only when there is no HTTP answer (the error's name is TimeoutError on a timeout). */
export async function serverRequest(c: ServerCredentials, method: string, path: string, body?: unknown): Promise<ServerResponse> {
  const headers: Record<string, string> = { Authorization: serverAuthorization(c), Accept: "application/json", "X-Atlassian-Token": "no-check" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${c.host}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "manual" });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T };
}

/** `/rest/api/1.0/projects/{key}/repos/{slug}` of `PROJECT/slug`. */
export function repoPath(repository: string, api = "/rest/api/1.0"): string {
  const [key, slug] = repository.split("/");
  if (!key || !slug) throw new Error(`${JSON.stringify(repository)} is not PROJECT/repo-slug`);
  return `${api}/projects/${encodeURIComponent(key)}/repos/${encodeURIComponent(slug)}`;
}

/** The message of a Server error answer (`{errors: [{message}]}`), or the start of its text. */
export function serverMessage(res: ServerResponse): string {
  try {
    const m = res.json<{ errors?: { message?: string }[] }>().errors?.[0]?.message;
    if (m) return m;
  } catch {
    /* not JSON */
  }
  return res.text.slice(0, 200) || `HTTP ${res.status}`;
}
