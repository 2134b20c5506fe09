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

/** Where a person sees a build inside Bitbucket, and the builds page itself (the same page without a build). */
export function bitbucketLinks(forge: Forge, tenant: Tenant, repository: string) {
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
