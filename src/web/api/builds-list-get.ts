import type { Request, Response } from "express";
import { Op, type WhereOptions } from "sequelize";
import type { Build, Models } from "../../db/models";
import type { BuildAttributes, BuildState } from "../../db/models/build";
import { findApplication } from "../../applications/find-application";
import { buildSummaryJson } from "../../builds/build-json";
import { tenantOf } from "../../http/tenant-auth";
import { isSafeRefName } from "../../forges/events";
import { badRequest } from "../../http/http-error";
import { decodeCursor, encodeCursor, limitParam } from "./api-cursor";

export const BUILD_STATES: readonly BuildState[] = ["QUEUED", "RUNNING", "PAUSED", "SUCCESSFUL", "FAILED", "STOPPED", "SKIPPED"];

function optionalString(raw: unknown, name: string): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (typeof raw !== "string") throw badRequest(`${name} must be given once`);
  return raw;
}

/** What a list of builds is asked for: `branch=&state=&cursor=&limit=` of a request, checked. */
export interface BuildListQuery {
  branch?: string;
  state?: BuildState;
  /** The `[id, number]` where the previous page ended. */
  cursor: number[] | null;
  limit: number;
}

/** Reads `branch`, `state`, `cursor` and `limit` of a query string; anything malformed is a 400. */
export function parseBuildListQuery(query: Request["query"], fallbackLimit?: number): BuildListQuery {
  const branch = optionalString(query.branch, "branch");
  const state = optionalString(query.state, "state");
  const rawCursor = optionalString(query.cursor, "cursor");
  const limit = limitParam(query.limit, fallbackLimit);
  if (branch !== undefined && !isSafeRefName(branch)) throw badRequest(`"${branch}" is not a branch name`);
  if (state !== undefined && !BUILD_STATES.includes(state as BuildState)) throw badRequest(`state must be one of ${BUILD_STATES.join(", ")}`);
  return { branch, state: state as BuildState | undefined, cursor: rawCursor === undefined ? null : decodeCursor(rawCursor, 2), limit };
}

/**
 * A page of an application's builds, newest first, and the cursor of the next page (null on the last).
 *
 * Keyset pagination, never an offset or a count, so a page costs the same at build 100 000 as at build 1:
 * - filtered by branch and/or state: `id < cursor` in id order, on the indexes (application_id, ref_type,
 *   ref_name, id) and (application_id, state, id);
 * - unfiltered: `number < cursor` in number order, on the unique index (application_id, number). Within an
 *   application, numbers are allocated in id order (createBuild takes the number and inserts the build while it
 *   holds the application row), so this is the same order; no index has (application_id, id).
 * The cursor carries both, so it stays valid if the client keeps its filters.
 */
export async function listBuilds(models: Models, applicationId: number, q: BuildListQuery): Promise<{ rows: Build[]; next: string | null }> {
  const { branch, state, cursor, limit } = q;
  const filtered = branch !== undefined || state !== undefined;
  const key = filtered ? "id" : "number";
  const where: WhereOptions<BuildAttributes> = {
    applicationId,
    ...(branch !== undefined ? { refType: "branch", refName: branch } : {}),
    ...(state !== undefined ? { state } : {}),
    ...(cursor ? { [key]: { [Op.lt]: filtered ? cursor[0] : cursor[1] } } : {}),
  };
  // The plan can be large and the variables are not shown: a page leaves them in the database.
  const rows = await models.Build.findAll({ where, order: [[key, "DESC"]], limit: limit + 1, attributes: { exclude: ["plan", "variables"] } });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { rows: page, next: rows.length > limit && last ? encodeCursor([last.id, last.number]) : null };
}

/** GET /api/applications/:id/builds?branch=&state=&cursor=&limit= — newest first, `{values, next}` (see listBuilds). */
export function buildsListGet(models: Models) {
  return async (req: Request, res: Response) => {
    const app = await findApplication(models, tenantOf(res).id, req.params.id);
    const { rows, next } = await listBuilds(models, app.id, parseBuildListQuery(req.query));
    res.json({ values: rows.map((b) => buildSummaryJson(b, app.repository)), next });
  };
}
