import type { Application, Models, Schedule } from "../db/models";
import { checkCron } from "./cron";
import type { ScheduleInput } from "./schedule-input";

/** The first tick after `now`, or null while disabled (or for an expression that never fires again). */
function nextTick(cron: string, timezone: string, enabled: boolean, now = new Date()): Date | null {
  if (!enabled) return null;
  const checked = checkCron(cron, timezone);
  return checked.ok ? checked.next(now) : null;
}

/** A new schedule (checked by parseScheduleInput), its first tick the next one from now. */
export function createSchedule(models: Models, app: Application, input: ScheduleInput): Promise<Schedule> {
  const cron = input.cron ?? "";
  const timezone = input.timezone ?? "UTC";
  const enabled = input.enabled ?? true;
  return models.Schedule.create({
    tenantId: app.tenantId,
    applicationId: app.id,
    branch: input.branch ?? "",
    pipeline: input.pipeline ?? null,
    cron,
    timezone,
    enabled,
    nextRunAt: nextTick(cron, timezone, enabled),
  });
}

/** Changes a schedule; its next tick is worked out again from now when the expression, zone or switch changes. */
export async function updateSchedule(schedule: Schedule, input: ScheduleInput): Promise<Schedule> {
  const cron = input.cron ?? schedule.cron;
  const timezone = input.timezone ?? schedule.timezone;
  const enabled = input.enabled ?? schedule.enabled;
  const timing = input.cron !== undefined || input.timezone !== undefined || input.enabled !== undefined;
  return schedule.update({
    ...(input.branch !== undefined ? { branch: input.branch } : {}),
    ...(input.pipeline !== undefined ? { pipeline: input.pipeline } : {}),
    cron,
    timezone,
    enabled,
    ...(timing ? { nextRunAt: nextTick(cron, timezone, enabled), lastError: null } : {}),
  });
}
