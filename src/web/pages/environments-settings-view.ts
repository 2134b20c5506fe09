import { Op } from "sequelize";
import type { Application, Models, Tenant } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";
import { allowedBranches } from "../../deployments/environments";

/**
 * The configure page's deployment settings: each application's environments (or only `only`'s) in order (type,
 * branches allowed, admins only) and their deployment variables (secured values never leave the service: shown as ••••).
 */
export async function environmentsSettingsView(models: Models, tenant: Tenant, only?: Application) {
  const apps = only ? [only] : await models.Application.findAll({ where: { tenantId: tenant.id }, order: [["repository", "ASC"]], attributes: ["id", "repository"] });
  const envs = apps.length ? await models.Environment.findAll({ where: { tenantId: tenant.id, applicationId: { [Op.in]: apps.map((a) => a.id) } }, order: [["rank", "ASC"], ["id", "ASC"]] }) : [];
  const vars = envs.length ? await models.EnvironmentVariable.findAll({ where: { tenantId: tenant.id, environmentId: { [Op.in]: envs.map((e) => e.id) } }, order: [["name", "ASC"]] }) : [];
  return apps.map((app) => ({
    id: app.id,
    repository: app.repository,
    environments: envs
      .filter((e) => e.applicationId === app.id)
      .map((e) => ({
        name: e.name,
        type: e.type,
        branches: allowedBranches(e).join(", "),
        adminsOnly: e.adminsOnly,
        variables: vars.filter((v) => v.environmentId === e.id).map((v) => ({ name: v.name, secured: v.secured, value: v.secured ? null : revealSecret(v, "value") })),
      })),
  }));
}
