import type { ServerContext } from "./server-context";
import { memberOf, type InstallRecord, type RepositoryRecord, type WorkspaceRecord } from "./state";

/** The shape of one REST endpoint of the API stand-in, and helpers its handlers share. */

export interface ApiRequest {
  ctx: ServerContext;
  method: string;
  /** Decoded path parameters, in the order of the route's groups. */
  params: string[];
  query: URLSearchParams;
  body: unknown;
  install: InstallRecord;
}

export interface ApiResponse {
  status: number;
  json?: unknown;
  raw?: { body: Buffer; contentType: string };
}

export interface Route {
  method: string;
  pattern: RegExp;
  /** Scopes the call needs (checked against the installation's granted scopes). */
  scopes: string[] | ((req: ApiRequest) => string[]);
  handle(req: ApiRequest): Promise<ApiResponse> | ApiResponse;
}

/** An error answered as Bitbucket's `{"type": "error", "error": {...}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function ok(json: unknown, status = 200): ApiResponse {
  return { status, json };
}

/** Bitbucket's paginated list: `{pagelen, size, page, values, next?, previous?}`. */
export function paginate<T>(req: ApiRequest, path: string, values: T[]): Record<string, unknown> {
  const pagelen = Math.min(100, Math.max(1, Number(req.query.get("pagelen")) || 10));
  const page = Math.max(1, Number(req.query.get("page")) || 1);
  const start = (page - 1) * pagelen;
  const out: Record<string, unknown> = { pagelen, size: values.length, page, values: values.slice(start, start + pagelen) };
  const link = (p: number): string => {
    const q = new URLSearchParams(req.query);
    q.set("page", String(p));
    return `${req.ctx.state.urls.api}${path}?${q.toString()}`;
  };
  if (start + pagelen < values.length) out.next = link(page + 1);
  if (page > 1) out.previous = link(page - 1);
  return out;
}

/** The workspace, which must be the one the caller's installation belongs to. */
export function tenantWorkspace(req: ApiRequest, slugOrUuid: string): WorkspaceRecord {
  const ws = req.ctx.state.findWorkspace(slugOrUuid);
  if (!ws) throw new ApiError(404, `No workspace with identifier '${slugOrUuid}'.`);
  if (!memberOf(req.install, ws.slug)) throw new ApiError(403, "Your credentials lack access to this workspace.");
  return ws;
}

/** The repository, answered 404 like Bitbucket when it is absent or in another workspace than the caller's. */
export function tenantRepository(req: ApiRequest, workspace: string, slug: string): RepositoryRecord {
  const repo = req.ctx.state.findRepository(workspace, slug);
  if (!repo || !memberOf(req.install, repo.workspace)) {
    throw new ApiError(
      404,
      "You may not have access to this repository or it no longer exists in this workspace. If you think this repository exists and you have access, make sure you are authenticated.",
    );
  }
  return repo;
}

export function repoApiPath(repo: RepositoryRecord): string {
  return `/2.0/repositories/${repo.workspace}/${repo.slug}`;
}

/** The body as an object, or a 400. */
export function objectBody(req: ApiRequest): Record<string, unknown> {
  if (!req.body || typeof req.body !== "object" || Array.isArray(req.body)) throw new ApiError(400, "The request body must be a JSON object.");
  return req.body as Record<string, unknown>;
}

export function fieldError(field: string, problem: string): ApiError {
  return new ApiError(400, `${field}: ${problem}`, { fields: { [field]: [problem] } });
}
