import type { Application, Models, Schedule } from "../../db/models";
import { notFound } from "../../http/http-error";

/** The application's schedule `:sid`, or a 404. */
export async function scheduleParam(models: Models, app: Application, raw: string): Promise<Schedule> {
  const id = /^\d{1,12}$/.test(raw) ? Number(raw) : 0;
  const schedule = id > 0 ? await models.Schedule.findOne({ where: { id, applicationId: app.id, tenantId: app.tenantId } }) : null;
  if (!schedule) throw notFound(`${app.repository} has no schedule ${raw}`);
  return schedule;
}
