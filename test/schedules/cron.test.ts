import assert from "node:assert/strict";
import { checkCron } from "../../src/schedules/cron";

const next = (expr: string, tz: string, after: string, n = 1): string[] => {
  const c = checkCron(expr, tz);
  assert.ok(c.ok, c.ok ? "" : c.reason);
  const out: string[] = [];
  let at = new Date(after);
  for (let i = 0; i < n; i++) {
    const d = c.next(at);
    assert.ok(d);
    out.push(d.toISOString());
    at = d;
  }
  return out;
};

describe("schedules: cron expressions", () => {
  it("reads Bitbucket's 7 fields (seconds … year, ? allowed), in the schedule's time zone", () => {
    assert.deepEqual(next("*/10 * * * * ? *", "UTC", "2025-01-01T00:00:00Z", 3), ["2025-01-01T00:00:10.000Z", "2025-01-01T00:00:20.000Z", "2025-01-01T00:00:30.000Z"]);
    assert.deepEqual(next("0 0 2 * * ? *", "Europe/Paris", "2025-01-01T00:00:00Z", 2), ["2025-01-01T01:00:00.000Z", "2025-01-02T01:00:00.000Z"]);
    // Days of the week count from Sunday = 1, as in Quartz: 2 is Monday (2025-01-06).
    assert.deepEqual(next("0 30 6 ? * 2 *", "UTC", "2025-01-01T00:00:00Z"), ["2025-01-06T06:30:00.000Z"]);
  });

  it("reads the common 5 fields (Sunday = 0)", () => {
    assert.deepEqual(next("15 3 * * 1", "UTC", "2025-01-01T00:00:00Z"), ["2025-01-06T03:15:00.000Z"]);
  });

  it("refuses what it cannot read, saying what is wrong", () => {
    const reason = (expr: string, tz = "UTC") => {
      const c = checkCron(expr, tz);
      assert.equal(c.ok, false);
      return c.ok ? "" : c.reason;
    };
    assert.match(reason("0 0 2 * * ?"), /7 fields like Bitbucket's .* or 5 .*, not 6/);
    assert.match(reason("0 0 25 * * ? *"), /cron "0 0 25 \* \* \? \*" is not valid: .*hour/);
    assert.match(reason("every day"), /not 2/);
    assert.match(reason("0 0 2 * * ? *", "Mars/Olympus"), /timezone "Mars\/Olympus" is not a time zone/);
    assert.match(reason("0 0 0 1 1 ? 2001"), /never fires again/);
  });
});
