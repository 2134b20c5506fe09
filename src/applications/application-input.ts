import { badRequest } from "../http/http-error";

/** `<workspace>/<repo_slug>`: slug characters only, and neither part "." or ".." (they would change the API path). */
export const REPOSITORY_FULL_NAME = /^(?!\.{1,2}\/)[A-Za-z0-9_.-]+\/(?!\.{1,2}$)[A-Za-z0-9_.-]+$/;
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export interface ApplicationPatch {
  autoBuild?: boolean;
  autoCancel?: boolean;
  branchFilter?: string | null;
}

/** Validates a PATCH body: only the switches and the branch filter may change. */
export function parseApplicationPatch(body: unknown): ApplicationPatch {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("the body must be a JSON object");
  const b = body as Record<string, unknown>;
  const patch: ApplicationPatch = {};
  for (const key of Object.keys(b)) {
    if (!["autoBuild", "autoCancel", "branchFilter"].includes(key)) throw badRequest(`"${key}" cannot be changed (autoBuild, autoCancel, branchFilter can)`);
  }
  for (const key of ["autoBuild", "autoCancel"] as const) {
    if (key in b) {
      if (typeof b[key] !== "boolean") throw badRequest(`${key} must be true or false`);
      patch[key] = b[key] as boolean;
    }
  }
  if ("branchFilter" in b) {
    const f = b.branchFilter;
    if (f !== null && (typeof f !== "string" || f.trim() === "" || f.length > 255)) throw badRequest("branchFilter must be a branch glob (e.g. main or release/*) or null");
    patch.branchFilter = f === null ? null : (f as string).trim();
  }
  return patch;
}
