import { ENVIRONMENT_TYPES, type EnvironmentType } from "../db/models/environment";
import { badRequest } from "../http/http-error";

export interface EnvironmentInput {
  name?: string;
  type?: EnvironmentType;
  rank?: number;
  branches?: string[] | null;
  adminsOnly?: boolean;
}

const FIELDS = ["name", "type", "rank", "branches", "adminsOnly", "restrictions"];

/** An environment's name: what `deployment:` names; 1–100 printable characters, no slash (it is a URL segment). */
function nameOf(v: unknown): string {
  if (typeof v !== "string" || v.trim() === "" || v.trim().length > 100 || v.includes("/") || [...v].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127)) {
    throw badRequest("name must be 1 to 100 characters without a slash or control characters (e.g. Staging)");
  }
  return v.trim();
}

function branchesOf(v: unknown): string[] | null {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length > 50 || v.some((b) => typeof b !== "string" || b.trim() === "" || b.length > 255)) {
    throw badRequest('branches must be a list of up to 50 branch globs (e.g. ["main", "release/*"]), or null for any branch');
  }
  const list = [...new Set((v as string[]).map((b) => b.trim()))];
  return list.length ? list : null;
}

/**
 * The body of POST (`name` and `type` required) or PATCH (any of them) on an environment. Restrictions come flat
 * (`branches`, `adminsOnly`) or as the GET shape (`restrictions: {branches, adminsOnly}`).
 */
export function parseEnvironmentInput(body: unknown, creating: boolean): EnvironmentInput {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("the body must be a JSON object");
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!FIELDS.includes(key)) throw badRequest(`"${key}" is not a field of an environment (${FIELDS.join(", ")})`);
  const r = b.restrictions;
  if (r !== undefined && (typeof r !== "object" || r === null || Array.isArray(r))) throw badRequest("restrictions must be an object: {branches, adminsOnly}");
  const restrictions = (r ?? {}) as Record<string, unknown>;
  const out: EnvironmentInput = {};
  if (b.name !== undefined) out.name = nameOf(b.name);
  if (b.type !== undefined) {
    if (!ENVIRONMENT_TYPES.includes(b.type as EnvironmentType)) throw badRequest(`type must be one of ${ENVIRONMENT_TYPES.join(", ")}`);
    out.type = b.type as EnvironmentType;
  }
  if (b.rank !== undefined) {
    if (!Number.isSafeInteger(b.rank) || (b.rank as number) < 0) throw badRequest("rank must be a whole number from 0 (the first column)");
    out.rank = b.rank as number;
  }
  const branches = b.branches !== undefined ? b.branches : restrictions.branches;
  if (branches !== undefined) out.branches = branchesOf(branches);
  const adminsOnly = b.adminsOnly !== undefined ? b.adminsOnly : restrictions.adminsOnly;
  if (adminsOnly !== undefined) {
    if (typeof adminsOnly !== "boolean") throw badRequest("adminsOnly must be true or false");
    out.adminsOnly = adminsOnly;
  }
  if (creating && (out.name === undefined || out.type === undefined)) throw badRequest('a new environment needs a name and a type, e.g. {"name": "QA", "type": "test"}');
  return out;
}
