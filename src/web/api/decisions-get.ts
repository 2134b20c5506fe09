import type { Request, Response } from "express";
import { Op } from "sequelize";
import type { Application, Decision, DecisionOutcome, Models } from "../../db/models";
import { findApplication } from "../../applications/find-application";
import { tenantOf } from "../../http/tenant-auth";
import { decodeCursor, encodeCursor, limitParam } from "./api-cursor";

/** One entry of "why did / didn't this run". */
export interface DecisionJson {
  /** The delivery's X-Request-UUID. */
  deliveryId: string | null;
  event: string;
  receivedAt: Date;
  ref: string | null;
  commit: string | null;
  outcome: DecisionOutcome;
  reason: string;
  buildId: number | null;
}

/**
 * A page of "why did / didn't this run" for an application, newest first: one entry per event of a delivery, with
 * the delivery's X-Request-UUID. It includes what was decided about the repository before it was an application
 * ("not-an-application"): those rows have no application, only the repository. `cursor` is the `next` of the
 * previous page (unchecked: decoded here, a 400 when malformed).
 *
 * Two keyset queries merged: the application's rows on (application_id, id), and the tenant's rows without an
 * application for this repository (on the same index, application_id IS NULL).
 */
export async function listDecisions(models: Models, app: Application, cursor: unknown, limit: number): Promise<{ values: DecisionJson[]; next: string | null }> {
  const tenantId = app.tenantId;
  const before = cursor === undefined ? {} : { id: { [Op.lt]: decodeCursor(cursor, 1)[0] } };
  const page = { order: [["id", "DESC"]] as [string, string][], limit: limit + 1 };
  const [own, unowned] = await Promise.all([
    models.Decision.findAll({ where: { tenantId, applicationId: app.id, ...before }, ...page }),
    models.Decision.findAll({ where: { tenantId, applicationId: null, repository: app.repository, ...before }, ...page }),
  ]);
  const rows: Decision[] = [...own, ...unowned].sort((a, b) => b.id - a.id).slice(0, limit + 1);
  const shown = rows.slice(0, limit);
  const deliveryIds = [...new Set(shown.map((d) => d.deliveryId))];
  const deliveries = deliveryIds.length
    ? await models.Delivery.findAll({ where: { id: { [Op.in]: deliveryIds }, tenantId }, attributes: ["id", "deliveryId", "createdAt"] })
    : [];
  const byId = new Map(deliveries.map((d) => [d.id, d]));
  const last = shown[shown.length - 1];
  return {
    values: shown.map((d) => ({
      deliveryId: byId.get(d.deliveryId)?.deliveryId ?? null,
      event: d.event,
      receivedAt: byId.get(d.deliveryId)?.createdAt ?? d.createdAt,
      ref: d.ref,
      commit: d.commit,
      outcome: d.outcome,
      reason: d.reason,
      buildId: d.buildId,
    })),
    next: rows.length > limit && last ? encodeCursor([last.id]) : null,
  };
}

/** GET /api/applications/:id/decisions?cursor=&limit= — "why did / didn't this run", newest first (see listDecisions). */
export function decisionsGet(models: Models) {
  return async (req: Request, res: Response) => {
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    res.json(await listDecisions(models, app, req.query.cursor, limitParam(req.query.limit)));
  };
}
