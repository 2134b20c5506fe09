import { ApiError, ok, paginate, tenantRepository, tenantWorkspace, type ApiRequest, type Route } from "./api-route";
import { repositoryMini } from "./objects";
import { oauthUserOf } from "./oauth";
import type { RepositoryPermission, RepositoryRecord, State } from "./state";

/**
 * Repository permissions as Bitbucket Cloud answers them (`repository_permission` objects, effective permissions):
 * - `GET /2.0/workspaces/{ws}/permissions/repositories/{slug}?q=user.account_id="…"` — every user's permission on
 *   the repository; only for callers that administer it (a Connect installation acts as its workspace's app);
 * - `GET /2.0/user/permissions/repositories?q=repository.full_name="…"` — the caller's own permission on each
 *   repository it was given one (an OAuth user; a Connect installation is no user: none).
 */

interface Person {
  uuid: string;
  accountId: string;
  displayName: string;
}

/** Everyone with a permission on the repository, and that permission (see RepositoryRecord.permissions). */
export function repositoryPeople(state: State, repo: RepositoryRecord): { person: Person; permission: Exclude<RepositoryPermission, "none"> }[] {
  const people = new Map<string, { person: Person; permission: RepositoryPermission }>();
  const dev = state.developer;
  people.set(dev.accountId, { person: { uuid: dev.uuid, accountId: dev.accountId, displayName: dev.name }, permission: "admin" });
  for (const u of state.oauth.users.values()) {
    const role = u.workspaces.get(repo.workspace);
    if (role) people.set(u.accountId, { person: { uuid: u.uuid, accountId: u.accountId, displayName: u.displayName }, permission: role === "owner" ? "admin" : "write" });
  }
  for (const [id, permission] of repo.permissions) {
    const known = people.get(id)?.person ?? { uuid: `{${id}}`, accountId: id, displayName: id };
    people.set(id, { person: known, permission });
  }
  return [...people.values()].filter((p): p is { person: Person; permission: Exclude<RepositoryPermission, "none"> } => p.permission !== "none");
}

/** `field="value"` of a `q` (the only filter the stand-in reads); null when absent. */
function filterOf(req: ApiRequest, field: string): string | null {
  const q = req.query.get("q");
  if (q === null) return null;
  const m = new RegExp(`^\\s*${field.replace(/\./g, "\\.")}\\s*=\\s*"((?:[^"\\\\]|\\\\.)*)"\\s*$`).exec(q);
  if (!m) throw new ApiError(400, `The stand-in understands q=${field}="…" here, not ${q}`);
  return m[1].replace(/\\(.)/g, "$1");
}

function userJson(p: Person) {
  return { type: "user", uuid: p.uuid, account_id: p.accountId, display_name: p.displayName };
}

export const permissionRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/2\.0\/workspaces\/([^/]+)\/permissions\/repositories\/([^/]+)\/?$/,
    scopes: ["repository"],
    handle: (req) => {
      const ws = tenantWorkspace(req, req.params[0]);
      const repo = tenantRepository(req, ws.slug, req.params[1]);
      const people = repositoryPeople(req.ctx.state, repo);
      const caller = oauthUserOf(req);
      if (caller && !people.some((p) => p.person.accountId === caller.accountId && p.permission === "admin")) {
        throw new ApiError(403, "You must be an admin of this repository to see its permissions.");
      }
      const accountId = filterOf(req, "user.account_id");
      const values = people
        .filter((p) => accountId === null || p.person.accountId === accountId)
        .map((p) => ({ type: "repository_permission", permission: p.permission, user: userJson(p.person), repository: repositoryMini(req.ctx.state.urls, repo) }));
      return ok(paginate(req, `/2.0/workspaces/${ws.slug}/permissions/repositories/${repo.slug}`, values));
    },
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/user\/permissions\/repositories\/?$/,
    scopes: ["repository"],
    handle: (req) => {
      const caller = oauthUserOf(req);
      const fullName = filterOf(req, "repository.full_name");
      const values = caller
        ? [...req.ctx.state.repositories.values()]
            .filter((r) => fullName === null || `${r.workspace}/${r.slug}` === fullName)
            .flatMap((r) => {
              const mine = repositoryPeople(req.ctx.state, r).find((p) => p.person.accountId === caller.accountId);
              return mine ? [{ type: "repository_permission", permission: mine.permission, user: userJson(mine.person), repository: repositoryMini(req.ctx.state.urls, r) }] : [];
            })
        : [];
      return ok(paginate(req, "/2.0/user/permissions/repositories", values));
    },
  },
  {
    method: "GET",
    pattern: /^\/2\.0\/repositories\/([^/]+)\/([^/]+)\/commits\/?$/,
    scopes: ["repository"],
    handle: async (req) => {
      const repo = tenantRepository(req, req.params[0], req.params[1]);
      const include = req.query.getAll("include");
      const exclude = req.query.getAll("exclude");
      const revs: string[] = [];
      for (const rev of include.length ? include : [`refs/heads/${repo.mainBranch}`]) {
        const hash = await req.ctx.repos.resolve(repo.gitDir, rev);
        if (!hash) throw new ApiError(404, `Commit not found: ${rev}`);
        revs.push(hash);
      }
      for (const rev of exclude) {
        const hash = await req.ctx.repos.resolve(repo.gitDir, rev);
        if (!hash) throw new ApiError(404, `Commit not found: ${rev}`);
        revs.push(`^${hash}`);
      }
      const r = await req.ctx.git.run(["rev-list", ...revs, "--"], { cwd: repo.gitDir });
      if (r.code !== 0) throw new ApiError(500, `git rev-list failed: ${r.stderr}`);
      const values = r.stdout.toString("utf8").split("\n").filter(Boolean).map((hash) => ({ type: "commit", hash }));
      return ok(paginate(req, `/2.0/repositories/${repo.workspace}/${repo.slug}/commits`, values));
    },
  },
];
