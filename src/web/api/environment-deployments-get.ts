import type { Request, Response } from "express";
import { Op } from "sequelize";
import { findApplication } from "../../applications/find-application";
import type { Models } from "../../db/models";
import { deploymentsJson } from "../../deployments/deployment-json";
import { decodeCursor, encodeCursor, limitParam } from "./api-cursor";
import { environmentParam } from "./find-environment";
import { tenantOf } from "../../http/tenant-auth";

/**
 * GET /api/applications/:id/environments/:name/deployments?cursor=&limit= — the environment's deployments, newest
 * first: `{values: [{buildId, buildNumber, step, commit, ref, state, startedBy, startedAt, finishedAt,
 * commitsSincePrevious, …}], next}`.
 */
export function environmentDeploymentsGet(models: Models) {
  return async (req: Request, res: Response) => {
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    const env = await environmentParam(models, app, req.params.name);
    const limit = limitParam(req.query.limit);
    const before = req.query.cursor === undefined ? {} : { id: { [Op.lt]: decodeCursor(req.query.cursor, 1)[0] } };
    const rows = await models.Deployment.findAll({ where: { environmentId: env.id, ...before }, order: [["id", "DESC"]], limit: limit + 1 });
    const shown = rows.slice(0, limit);
    const last = shown[shown.length - 1];
    res.json({ values: await deploymentsJson(models, shown, [env]), next: rows.length > limit && last ? encodeCursor([last.id]) : null });
  };
}
