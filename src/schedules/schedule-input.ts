import { isSafeRefName } from "../forges/events";
import { badRequest } from "../http/http-error";
import { checkCron } from "./cron";

export interface ScheduleInput {
  branch?: string;
  /** The custom pipeline's name; null: the branch's pipeline. */
  pipeline?: string | null;
  cron?: string;
  timezone?: string;
  enabled?: boolean;
}

const FIELDS = ["branch", "pipeline", "cron", "timezone", "enabled"];
const CUSTOM = /^custom:\s*(\S(?:.{0,253}\S)?)\s*$/;

/**
 * The body of POST (branch and cron required; timezone UTC and enabled by default) or PATCH of a schedule. `pipeline`
 * is `custom:<name>`, or null / absent for the branch's own pipeline. A bad cron or time zone is a 400 saying what
 * is wrong; `current` (PATCH) gives the other half when only one of cron and timezone changes.
 */
export function parseScheduleInput(body: unknown, current?: { cron: string; timezone: string }): ScheduleInput {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("the body must be a JSON object");
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!FIELDS.includes(key)) throw badRequest(`"${key}" is not a field of a schedule (${FIELDS.join(", ")})`);
  const out: ScheduleInput = {};
  if (b.branch !== undefined) {
    if (!isSafeRefName(b.branch) || b.branch.length > 255) throw badRequest("branch must be a branch name git accepts");
    out.branch = b.branch;
  }
  if (b.pipeline !== undefined) {
    if (b.pipeline === null || b.pipeline === "") out.pipeline = null;
    else {
      const m = typeof b.pipeline === "string" ? CUSTOM.exec(b.pipeline) : null;
      if (!m) throw badRequest('pipeline must be "custom:<name>", or null for the branch\'s own pipeline');
      out.pipeline = m[1];
    }
  }
  if (b.cron !== undefined) {
    if (typeof b.cron !== "string" || b.cron.trim() === "" || b.cron.length > 128) throw badRequest('cron must be a cron expression such as "0 0 2 * * ? *"');
    out.cron = b.cron.trim().split(/\s+/).join(" ");
  }
  if (b.timezone !== undefined) {
    if (typeof b.timezone !== "string" || b.timezone.length > 64) throw badRequest("timezone must be a time zone name such as UTC or Europe/Paris");
    out.timezone = b.timezone;
  }
  if (b.enabled !== undefined) {
    if (typeof b.enabled !== "boolean") throw badRequest("enabled must be true or false");
    out.enabled = b.enabled;
  }
  if (!current && (out.branch === undefined || out.cron === undefined)) throw badRequest('a schedule needs a branch and a cron expression, e.g. {"branch": "main", "cron": "0 0 2 * * ? *"}');
  const cron = out.cron ?? current?.cron;
  const timezone = out.timezone ?? current?.timezone ?? "UTC";
  if (cron !== undefined && (out.cron !== undefined || out.timezone !== undefined)) {
    const checked = checkCron(cron, timezone);
    if (!checked.ok) throw badRequest(checked.reason);
  }
  return out;
}
