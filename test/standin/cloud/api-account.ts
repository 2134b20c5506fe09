import { ok, paginate, tenantRepository, tenantWorkspace, type Route } from "./api-route";
import { repositoryObject, teamAccount, workspaceObject } from "./objects";
import { oauthUserJson } from "./oauth";

/** GET /2.0/user, /2.0/workspaces/{ws}, /2.0/repositories/{ws}, /2.0/repositories/{ws}/{slug}. */
export const accountRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/2\.0\/user\/?$/,
    scopes: ["account"],
    // A Connect app acts as the workspace it is installed in.
    handle: (req) => ok(oauthUserJson(req) ?? teamAccount(req.ctx.state.urls, req.ctx.state.workspace(req.install.workspace))),
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/workspaces\/([^/]+)\/?$/,
    scopes: ["account"],
    handle: (req) => ok(workspaceObject(req.ctx.state.urls, tenantWorkspace(req, req.params[0]), true)),
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/?$/,
    scopes: ["repository"],
    handle: (req) => {
      const ws = tenantWorkspace(req, req.params[0]);
      const repos = [...req.ctx.state.repositories.values()].filter((r) => r.workspace === ws.slug).sort((a, b) => a.slug.localeCompare(b.slug));
      const values = repos.map((r) => repositoryObject(req.ctx.state.urls, ws, r, true));
      return ok(paginate(req, `/2.0/repositories/${ws.slug}`, values));
    },
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/?$/,
    scopes: ["repository"],
    handle: (req) => {
      const repo = tenantRepository(req, req.params[0], req.params[1]);
      return ok(repositoryObject(req.ctx.state.urls, req.ctx.state.workspace(repo.workspace), repo, true));
    },
  },
];
