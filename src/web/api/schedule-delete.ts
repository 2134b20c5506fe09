import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import type { Models } from "../../db/models";
import { scheduleParam } from "./find-schedule";
import { tenantOf } from "../../http/tenant-auth";

/** DELETE /api/applications/:id/schedules/:sid — 204; it fires no more. */
export function scheduleDelete(models: Models) {
  return async (req: Request, res: Response) => {
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    await (await scheduleParam(models, app, req.params.sid)).destroy();
    res.status(204).end();
  };
}
