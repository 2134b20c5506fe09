import type { Request, Response } from "express";
import type { Models, Tenant } from "../../db/models";
import type { CloudCaller } from "../../forges/cloud/cloud-caller";
import type { Logger } from "../../log/logger";
import { pageAuthOf } from "../pages/page-auth";
import { pageChrome } from "../pages/page-chrome";
import { setPageHeaders } from "../pages/page-headers";
import type { PageDeps } from "../pages/page-deps";
import { standaloneLinks } from "../pages/repository-application";

/** How long the page waits for Bitbucket's list of repositories before it shows the applications alone. */
const REPOSITORIES_TIMEOUT_MS = 3_000;

/** One page (100) of the workspace's repositories as Bitbucket lists them to this connection, or why not. */
async function workspaceRepositories(caller: CloudCaller, workspace: string, log: Logger): Promise<{ names: string[]; error: string | null }> {
  try {
    const res = await caller.request("GET", `/2.0/repositories/${encodeURIComponent(workspace)}?pagelen=100&sort=slug`, { timeoutMs: REPOSITORIES_TIMEOUT_MS });
    if (res.status !== 200) return { names: [], error: `Bitbucket answered HTTP ${res.status} when asked for the repositories.` };
    const body = res.json<{ values?: { full_name?: unknown }[] }>();
    return { names: (body.values ?? []).map((v) => v.full_name).filter((n): n is string => typeof n === "string"), error: null };
  } catch (err) {
    log.warn("could not list the workspace's repositories", { workspace, err });
    return { names: [], error: "Bitbucket could not be asked for the repositories just now." };
  }
}

/**
 * GET /app/:workspace — a connected workspace: its applications (each to its panel and builds) and the repositories
 * Bitbucket lists, each to its panel, where "Create application" makes it one (the Connect panel, standalone).
 */
export function standaloneWorkspaceGet(deps: PageDeps, models: Models, callerFor: (tenant: Tenant) => CloudCaller) {
  return async (_req: Request, res: Response) => {
    const auth = pageAuthOf(res);
    const workspace = auth.tenant.principalName ?? "";
    const [apps, repos] = await Promise.all([
      models.Application.findAll({ where: { tenantId: auth.tenant.id }, order: [["repository", "ASC"]] }),
      workspaceRepositories(callerFor(auth.tenant), workspace, deps.log),
    ]);
    const applications = apps.map((a) => {
      const links = standaloneLinks(deps.baseUrl, a.repository);
      return { id: a.id, repository: a.repository, autoBuild: a.autoBuild, panelUrl: links.panel(), buildsUrl: links.buildsPage() };
    });
    const built = new Set(apps.map((a) => a.repository));
    const repositories = repos.names
      .filter((n) => !built.has(n))
      .map((n) => ({ fullName: n, panelUrl: standaloneLinks(deps.baseUrl, n).panel() }));
    setPageHeaders(res, auth);
    res.render("standalone-workspace", { ...pageChrome(deps, auth, workspace, []), workspace, applications, repositories, repositoriesError: repos.error });
  };
}
