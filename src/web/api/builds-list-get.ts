import type { Request, Response } from "express";
import { Op, type WhereOptions } from "sequelize";
import type { Models } from "../../db/models";
import type { BuildAttributes, BuildState } from "../../db/models/build";
import { findApplication } from "../../applications/find-application";
import { buildSummaryJson } from "../../builds/build-json";
import { connectAuthOf } from "../../forges/cloud-connect/jwt/verify-request";
import { isSafeRefName } from "../../forges/events";
import { badRequest } from "../../http/http-error";
import { decodeCursor, encodeCursor, limitParam } from "./api-cursor";

export const BUILD_STATES: readonly BuildState[] = ["QUEUED", "RUNNING", "PAUSED", "SUCCESSFUL", "FAILED", "STOPPED", "SKIPPED"];

function optionalString(raw: unknown, name: string): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (typeof raw !== "string") throw badRequest(`${name} must be given once`);
  return raw;
}

/**
 * GET /api/applications/:id/builds?branch=&state=&cursor=&limit= — newest first, `{values, next}`.
 *
 * Keyset pagination, never an offset or a count, so a page costs the same at build 100 000 as at build 1:
 * - filtered by branch and/or state: `id < cursor` in id order, on the indexes (application_id, ref_type,
 *   ref_name, id) and (application_id, state, id);
 * - unfiltered: `number < cursor` in number order, on the unique index (application_id, number). Within an
 *   application, numbers are allocated in id order (createBuild takes the number and inserts the build while it
 *   holds the application row), so this is the same order; no index has (application_id, id).
 * The cursor carries both, so it stays valid if the client keeps its filters.
 */
export function buildsListGet(models: Models) {
  return async (req: Request, res: Response) => {
    const app = await findApplication(models, connectAuthOf(res).tenant.id, req.params.id);
    const branch = optionalString(req.query.branch, "branch");
    const state = optionalString(req.query.state, "state");
    const rawCursor = optionalString(req.query.cursor, "cursor");
    const limit = limitParam(req.query.limit);
    if (branch !== undefined && !isSafeRefName(branch)) throw badRequest(`"${branch}" is not a branch name`);
    if (state !== undefined && !BUILD_STATES.includes(state as BuildState)) throw badRequest(`state must be one of ${BUILD_STATES.join(", ")}`);
    const cursor = rawCursor === undefined ? null : decodeCursor(rawCursor, 2);

    const filtered = branch !== undefined || state !== undefined;
    const key = filtered ? "id" : "number";
    const where: WhereOptions<BuildAttributes> = {
      applicationId: app.id,
      ...(branch !== undefined ? { refType: "branch", refName: branch } : {}),
      ...(state !== undefined ? { state: state as BuildState } : {}),
      ...(cursor ? { [key]: { [Op.lt]: filtered ? cursor[0] : cursor[1] } } : {}),
    };
    // The plan can be large and the variables are not shown: a page leaves them in the database.
    const rows = await models.Build.findAll({ where, order: [[key, "DESC"]], limit: limit + 1, attributes: { exclude: ["plan", "variables"] } });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    res.json({
      values: page.map((b) => buildSummaryJson(b, app.repository)),
      next: rows.length > limit && last ? encodeCursor([last.id, last.number]) : null,
    });
  };
}
