import type { Application, Build, Models } from "../../db/models";
import { notFound } from "../../http/http-error";

/**
 * A build of this tenant with its application, or a 404: another tenant's build is indistinguishable from one that
 * does not exist.
 */
export async function findBuild(models: Models, tenantId: number, id: string): Promise<{ build: Build; app: Application }> {
  const n = /^\d{1,15}$/.test(id) ? Number(id) : 0;
  const build = n > 0 ? await models.Build.findOne({ where: { id: n, tenantId } }) : null;
  const app = build && (await models.Application.findOne({ where: { id: build.applicationId, tenantId } }));
  if (!build || !app) throw notFound(`no build ${id}`);
  return { build, app };
}

/** The `:n` of a step route: a step index (0, 1, …), or a 404. */
export function stepIndexParam(raw: string): number {
  if (!/^\d{1,6}$/.test(raw)) throw notFound(`no step ${raw}`);
  return Number(raw);
}
