import type { Application, Models, Tenant } from "../../db/models";
import type { Forge } from "../../forges/forge";

/**
 * The tenant's application for the repository a page is opened for, or null when the repository is not one: by its
 * full name, else by its uuid (a repository renamed since it became an application keeps its uuid).
 */
export async function repositoryApplication(models: Models, tenant: Tenant, repo: { fullName: string; uuid: string | null }): Promise<Application | null> {
  const byName = await models.Application.findOne({ where: { tenantId: tenant.id, repository: repo.fullName } });
  if (byName || !repo.uuid) return byName;
  return models.Application.findOne({ where: { tenantId: tenant.id, repositoryUuid: repo.uuid } });
}

/** The standalone pages of a repository (OAuth connections have no page inside Bitbucket): `/app/:workspace/:repo`. */
export function standaloneLinks(baseUrl: string, repository: string) {
  const page = `${baseUrl.replace(/\/+$/, "")}/app/${repository.split("/").map(encodeURIComponent).join("/")}`;
  return {
    panel: () => page,
    build: (b: { id: number; number: number }) => `${page}/builds?build=${b.id}`,
    buildsPage: () => `${page}/builds`,
  };
}

/**
 * Where a person sees a build, and the builds page itself (the same page without a build): inside Bitbucket for
 * Connect and Server tenants (the forge says where), the standalone pages for OAuth connections.
 */
export function bitbucketLinks(forge: Forge, tenant: Tenant, repository: string, baseUrl?: string) {
  if (tenant.kind === "cloud-oauth" && baseUrl !== undefined) return standaloneLinks(baseUrl, repository);
  return {
    build: (b: { id: number; number: number }) => forge.buildPageUrl(tenant, repository, b),
    buildsPage(): string {
      const u = new URL(forge.buildPageUrl(tenant, repository, { id: 0, number: 0 }));
      u.search = "";
      u.hash = "";
      return u.toString();
    },
  };
}
