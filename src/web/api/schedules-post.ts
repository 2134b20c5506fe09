import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import type { Models } from "../../db/models";
import { createSchedule } from "../../schedules/manage-schedules";
import { parseScheduleInput } from "../../schedules/schedule-input";
import { scheduleJson } from "../../schedules/schedule-json";
import { tenantOf } from "../../http/tenant-auth";

/** POST /api/applications/:id/schedules `{branch, cron, pipeline?, timezone?, enabled?}` — 201 with the schedule; 400 naming what is wrong with a bad cron. */
export function schedulesPost(models: Models) {
  return async (req: Request, res: Response) => {
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    res.status(201).json(scheduleJson(await createSchedule(models, app, parseScheduleInput(req.body))));
  };
}
