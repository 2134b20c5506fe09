import type { Models, Tenant } from "../../db/models";
import { scheduleJson } from "../../schedules/schedule-json";
import { formatTime } from "./build-view";
import { repositoryApplication } from "./repository-application";

/** The builds page's scheduled pipelines of the repository's application (none when it is not one). */
export async function schedulesView(models: Models, tenant: Tenant, repo: { fullName: string; uuid: string | null }) {
  const app = await repositoryApplication(models, tenant, repo);
  if (!app) return null;
  const rows = await models.Schedule.findAll({ where: { applicationId: app.id, tenantId: tenant.id }, order: [["id", "ASC"]] });
  return {
    applicationId: app.id,
    rows: rows.map((s) => {
      const j = scheduleJson(s);
      return { ...j, pipelineText: j.pipeline ?? "the branch's pipeline", nextText: j.nextRunAt ? formatTime(j.nextRunAt) : "—" };
    }),
  };
}
