import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import type { Models } from "../../db/models";
import { updateSchedule } from "../../schedules/manage-schedules";
import { parseScheduleInput } from "../../schedules/schedule-input";
import { scheduleJson } from "../../schedules/schedule-json";
import { scheduleParam } from "./find-schedule";
import { tenantOf } from "../../http/tenant-auth";

/** PATCH /api/applications/:id/schedules/:sid — change any of branch, pipeline, cron, timezone, enabled: 200 with the schedule. */
export function schedulePatch(models: Models) {
  return async (req: Request, res: Response) => {
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    const schedule = await scheduleParam(models, app, req.params.sid);
    res.json(scheduleJson(await updateSchedule(schedule, parseScheduleInput(req.body, schedule))));
  };
}
