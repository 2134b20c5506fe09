import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import type { Models } from "../../db/models";
import { scheduleJson } from "../../schedules/schedule-json";
import { tenantOf } from "../../http/tenant-auth";

/** GET /api/applications/:id/schedules — `{values: [{id, branch, pipeline, cron, timezone, enabled, nextRunAt, …}]}`. */
export function schedulesGet(models: Models) {
  return async (req: Request, res: Response) => {
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    const rows = await models.Schedule.findAll({ where: { applicationId: app.id, tenantId: app.tenantId }, order: [["id", "ASC"]] });
    res.json({ values: rows.map(scheduleJson) });
  };
}
