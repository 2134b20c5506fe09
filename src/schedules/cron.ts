import { Cron } from "croner";

export type CronCheck = { ok: true; next(after: Date): Date | null } | { ok: false; reason: string };

/** Whether `zone` is an IANA time zone this system knows (e.g. UTC, Europe/Paris). */
export function knownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads a schedule's cron expression in a time zone, with croner:
 * - Bitbucket's own 7 fields — seconds minutes hours day-of-month month day-of-week year, `?` allowed, days of the
 *   week 1–7 from Sunday as in Quartz (e.g. `0 0 2 * * ? *`: every day at 02:00);
 * - the common 5 fields — minutes hours day-of-month month day-of-week, Sunday 0 (e.g. `0 2 * * *`).
 * Anything else, or a value out of range, is refused with a reason naming what is wrong.
 */
export function checkCron(expression: string, timezone: string): CronCheck {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 7 && fields.length !== 5) {
    return { ok: false, reason: `cron must have 7 fields like Bitbucket's ("0 0 2 * * ? *": seconds minutes hours day-of-month month day-of-week year) or 5 ("0 2 * * *"), not ${fields.length}` };
  }
  if (!knownTimeZone(timezone)) return { ok: false, reason: `timezone "${timezone}" is not a time zone (use an IANA name such as UTC or Europe/Paris)` };
  let cron: Cron;
  try {
    cron = new Cron(fields.join(" "), { timezone, paused: true, alternativeWeekdays: fields.length === 7 });
  } catch (err) {
    return { ok: false, reason: `cron "${expression}" is not valid: ${(err as Error).message.replace(/^CronPattern: /, "")}` };
  }
  if (!cron.nextRun(new Date())) return { ok: false, reason: `cron "${expression}" never fires again` };
  return { ok: true, next: (after) => cron.nextRun(after) };
}
