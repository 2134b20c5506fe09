import type { Application, Models } from "../db/models";
import { notFound } from "../http/http-error";

/** An application of this tenant, or a 404 (another tenant's application is indistinguishable from none). */
export async function findApplication(models: Models, tenantId: number, id: string | number): Promise<Application> {
  const n = Number(id);
  const app = Number.isInteger(n) && n > 0 ? await models.Application.findOne({ where: { id: n, tenantId } }) : null;
  if (!app) throw notFound(`no application ${String(id)}`);
  return app;
}
