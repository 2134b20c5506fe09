import type { Schedule } from "../db/models";

export interface ScheduleJson {
  id: number;
  applicationId: number;
  branch: string;
  /** `custom:<name>`, or null for the branch's own pipeline. */
  pipeline: string | null;
  cron: string;
  timezone: string;
  enabled: boolean;
  nextRunAt: Date | null;
  lastRunAt: Date | null;
  lastBuildId: number | null;
  lastError: string | null;
}

export function scheduleJson(s: Schedule): ScheduleJson {
  return {
    id: s.id,
    applicationId: s.applicationId,
    branch: s.branch,
    pipeline: s.pipeline === null ? null : `custom:${s.pipeline}`,
    cron: s.cron,
    timezone: s.timezone,
    enabled: s.enabled,
    nextRunAt: s.nextRunAt,
    lastRunAt: s.lastRunAt,
    lastBuildId: s.lastBuildId,
    lastError: s.lastError,
  };
}
