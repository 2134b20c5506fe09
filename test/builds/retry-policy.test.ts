import assert from "node:assert/strict";
import {
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  DEFAULT_MAX_ATTEMPTS,
  RETRY_AFTER_CAP_MS,
  retryAfterMs,
  retryPolicy,
  type CallOutcome,
  type RetryDecision,
  type RetryOptions,
} from "../../src/http/retry-policy";

/** A fixed clock: 2025-03-14T12:00:00Z. */
const NOW = Date.UTC(2025, 2, 14, 12, 0, 0);
const now = () => NOW;
/** A `random` that always answers `r`, so the jitter is known. */
const fixed = (r: number) => () => r;

function retried(decision: RetryDecision): Extract<RetryDecision, { retry: true }> {
  assert.equal(decision.retry, true, `expected a retry, got ${JSON.stringify(decision)}`);
  return decision as Extract<RetryDecision, { retry: true }>;
}

function final(decision: RetryDecision): string {
  assert.equal(decision.retry, false, `expected no retry, got ${JSON.stringify(decision)}`);
  return decision.reason;
}

/**
 * A caller that loops on the policy as it is meant to: it makes calls whose outcomes are `outcomes` in turn, waits
 * what it is told, mints a new token when asked, and stops when the policy says so.
 */
function series(outcomes: CallOutcome[], opts: Omit<RetryOptions, "tokenRefreshed"> = {}) {
  const waits: number[] = [];
  let refreshes = 0;
  let tokenRefreshed = false;
  for (let attempt = 1; ; attempt++) {
    const outcome = outcomes[Math.min(attempt, outcomes.length) - 1];
    const decision = retryPolicy(outcome, attempt, { random: fixed(0.5), now, ...opts, tokenRefreshed });
    if (!decision.retry) return { calls: attempt, waits, refreshes, reason: decision.reason };
    if (decision.refreshToken) {
      refreshes++;
      tokenRefreshed = true;
    }
    waits.push(decision.delayMs);
  }
}

describe("retryPolicy", () => {
  describe("success", () => {
    for (const status of [200, 201, 202, 204]) {
      it(`HTTP ${status} is done`, () => {
        assert.deepEqual(retryPolicy({ status }, 1), { retry: false, reason: `done (HTTP ${status})` });
      });
    }

    it("a success on the last attempt is done, not given up", () => {
      assert.equal(final(retryPolicy({ status: 201 }, DEFAULT_MAX_ATTEMPTS)), "done (HTTP 201)");
    });
  });

  describe("401: one new token, then final", () => {
    it("a first 401 asks for a new token and an immediate retry", () => {
      assert.deepEqual(retryPolicy({ status: 401 }, 1), { retry: true, delayMs: 0, reason: "HTTP 401: retrying once with a new token", refreshToken: true });
    });

    it("a 401 after a new token is final and says the credentials are not accepted", () => {
      const reason = final(retryPolicy({ status: 401 }, 2, { tokenRefreshed: true }));
      assert.match(reason, /HTTP 401 again after a new token/);
      assert.match(reason, /credentials are not accepted/);
    });

    it("401 retries once with a new token then gives up", () => {
      const run = series([{ status: 401 }, { status: 401 }, { status: 401 }]);
      assert.equal(run.calls, 2);
      assert.equal(run.refreshes, 1);
      assert.deepEqual(run.waits, [0]);
      assert.match(run.reason, /HTTP 401 again after a new token/);
    });

    it("a 401 then, with the new token, a success is done after two calls", () => {
      const run = series([{ status: 401 }, { status: 201 }]);
      assert.deepEqual(run, { calls: 2, waits: [0], refreshes: 1, reason: "done (HTTP 201)" });
    });

    it("a 401 later in the series still gets its one new token, and only one", () => {
      const run = series([{ status: 500 }, { status: 401 }, { status: 503 }, { status: 401 }]);
      assert.equal(run.calls, 4);
      assert.equal(run.refreshes, 1);
      assert.match(run.reason, /HTTP 401 again after a new token/);
    });

    it("a first 401 on the last attempt gives up instead of asking for a token", () => {
      const decision = retryPolicy({ status: 401 }, 3, { maxAttempts: 3 });
      assert.deepEqual(decision, { retry: false, reason: "gave up after 3 attempts (last: HTTP 401: retrying once with a new token)" });
    });
  });

  describe("refusals are never retried", () => {
    const refusals: [status: number, reason: RegExp][] = [
      [403, /^HTTP 403: the installation is not allowed to do this; not retried$/],
      [404, /^HTTP 404: the repository or commit was not found; not retried$/],
      [400, /^HTTP 400: the request was rejected as invalid; not retried$/],
      [422, /^HTTP 422: the request was rejected as invalid; not retried$/],
      [405, /^HTTP 405: not retried$/],
      [409, /^HTTP 409: not retried$/],
      [410, /^HTTP 410: not retried$/],
      [413, /^HTTP 413: not retried$/],
      [451, /^HTTP 451: not retried$/],
    ];
    for (const [status, reason] of refusals) {
      it(`HTTP ${status} is final on the first attempt, with attempts to spare`, () => {
        assert.match(final(retryPolicy({ status }, 1, { maxAttempts: 100 })), reason);
      });
    }

    it("403 and 404 are final whatever Retry-After says, and even after a token refresh", () => {
      for (const status of [403, 404]) {
        assert.equal(retryPolicy({ status, retryAfter: "1" }, 1).retry, false);
        assert.equal(retryPolicy({ status }, 2, { tokenRefreshed: true }).retry, false);
        assert.equal(series([{ status }]).calls, 1);
      }
    });

    it("the refusal reason wins over 'gave up' on the last attempt", () => {
      assert.match(final(retryPolicy({ status: 404 }, 1, { maxAttempts: 1 })), /^HTTP 404/);
    });

    it("1xx and 3xx answers are not retried either", () => {
      for (const status of [100, 301, 304]) assert.equal(final(retryPolicy({ status }, 1)), `HTTP ${status}: not retried`);
    });
  });

  describe("429 and 503 follow Retry-After", () => {
    it("429 with Retry-After: 120 waits 120 s, whatever the jitter", () => {
      for (const r of [0, 0.5, 0.999]) {
        const decision = retried(retryPolicy({ status: 429, retryAfter: "120" }, 1, { random: fixed(r), now }));
        assert.equal(decision.delayMs, 120_000);
        assert.equal(decision.reason, "HTTP 429: Retry-After 120 (waiting 120000 ms)");
        assert.equal(decision.refreshToken, undefined);
      }
    });

    it("503 with Retry-After: 30 waits 30 s", () => {
      assert.equal(retried(retryPolicy({ status: 503, retryAfter: "30" }, 4)).delayMs, 30_000);
    });

    it("429 with an HTTP date 90 s ahead waits 90 s", () => {
      const at = new Date(NOW + 90_000).toUTCString();
      assert.equal(retried(retryPolicy({ status: 429, retryAfter: at }, 1, { now })).delayMs, 90_000);
    });

    it("an HTTP date in the past means now", () => {
      const at = new Date(NOW - 3_600_000).toUTCString();
      assert.equal(retried(retryPolicy({ status: 429, retryAfter: at }, 1, { now })).delayMs, 0);
    });

    it("Retry-After: 0 means now", () => {
      assert.equal(retried(retryPolicy({ status: 429, retryAfter: "0" }, 1)).delayMs, 0);
    });

    it("a Retry-After longer than 15 minutes waits 15 minutes", () => {
      assert.equal(retried(retryPolicy({ status: 429, retryAfter: "86400" }, 1)).delayMs, RETRY_AFTER_CAP_MS);
      assert.equal(RETRY_AFTER_CAP_MS, 15 * 60_000);
    });

    it("429 or 503 without a usable Retry-After backs off with jitter instead", () => {
      for (const retryAfter of [undefined, null, "", "soon", "-5", "1.5", "120s", "Fri, 14 Mar 2025 12:01:00 +0000"]) {
        for (const status of [429, 503]) {
          const decision = retried(retryPolicy({ status, retryAfter }, 3, { random: fixed(0.5), now }));
          assert.equal(decision.delayMs, 2_000, `${status} ${String(retryAfter)}`);
          assert.equal(decision.reason, `HTTP ${status}`);
        }
      }
    });

    it("Retry-After on other statuses is not followed (they back off)", () => {
      assert.equal(retried(retryPolicy({ status: 502, retryAfter: "600" }, 1, { random: fixed(0) })).delayMs, 0);
    });

    it("a 429 series waits exactly what each answer asks, then succeeds", () => {
      const run = series([
        { status: 429, retryAfter: "5" },
        { status: 429, retryAfter: new Date(NOW + 7_000).toUTCString() },
        { status: 200 },
      ]);
      assert.deepEqual(run, { calls: 3, waits: [5_000, 7_000], refreshes: 0, reason: "done (HTTP 200)" });
    });
  });

  describe("transient failures back off exponentially with full jitter", () => {
    const transient: [CallOutcome, string][] = [
      [{ status: 500 }, "HTTP 500"],
      [{ status: 502 }, "HTTP 502"],
      [{ status: 503 }, "HTTP 503"],
      [{ status: 504 }, "HTTP 504"],
      [{ status: 408 }, "HTTP 408"],
      [{ error: "network" }, "network error"],
      [{ error: "timeout" }, "the request timed out"],
    ];
    for (const [outcome, reason] of transient) {
      it(`${reason} is retried`, () => {
        const decision = retried(retryPolicy(outcome, 1, { random: fixed(0.5) }));
        assert.deepEqual(decision, { retry: true, delayMs: 500, reason });
      });
    }

    it("the ceiling doubles from 1 s per attempt up to the 5 minute cap", () => {
      const ceilings = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000, 300_000];
      ceilings.forEach((ceiling, i) => {
        const attempt = i + 1;
        const opts = { maxAttempts: 1_000 };
        assert.equal(retried(retryPolicy({ status: 500 }, attempt, { ...opts, random: fixed(0.5) })).delayMs, ceiling / 2, `attempt ${attempt} at the middle`);
        assert.equal(retried(retryPolicy({ status: 500 }, attempt, { ...opts, random: fixed(0) })).delayMs, 0, `attempt ${attempt} at 0`);
        const top = retried(retryPolicy({ status: 500 }, attempt, { ...opts, random: fixed(0.999_999_9) })).delayMs;
        assert.ok(top < ceiling && top >= ceiling - 1, `attempt ${attempt}: ${top} just under ${ceiling}`);
      });
      assert.equal(BACKOFF_BASE_MS, 1_000);
      assert.equal(BACKOFF_CAP_MS, 300_000);
    });

    it("a very late attempt still waits at most the cap", () => {
      assert.equal(retried(retryPolicy({ error: "network" }, 5_000, { maxAttempts: 10_000, random: fixed(0.5) })).delayMs, BACKOFF_CAP_MS / 2);
    });

    it("the wait stays in [0, ceiling) even when the injected random misbehaves", () => {
      const cases: [r: number, expected: number][] = [
        [1, 3_999],
        [7, 3_999],
        [Infinity, 0],
        [-0.5, 0],
        [Number.NaN, 0],
      ];
      for (const [r, expected] of cases) {
        assert.equal(retried(retryPolicy({ status: 502 }, 3, { random: fixed(r) })).delayMs, expected, `random() = ${r}`);
      }
    });

    it("with the real Math.random, every wait is a whole number of ms in [0, ceiling)", () => {
      for (let attempt = 1; attempt <= 9; attempt++) {
        const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
        for (let i = 0; i < 200; i++) {
          const { delayMs } = retried(retryPolicy({ status: 500 }, attempt));
          assert.ok(Number.isInteger(delayMs) && delayMs >= 0 && delayMs < ceiling, `attempt ${attempt}: ${delayMs}`);
        }
      }
    });

    it("asks random() once per decision", () => {
      let calls = 0;
      retryPolicy({ status: 500 }, 2, {
        random: () => {
          calls++;
          return 0.25;
        },
      });
      assert.equal(calls, 1);
    });
  });

  describe("attempts run out", () => {
    it(`by default, gives up after ${DEFAULT_MAX_ATTEMPTS} attempts`, () => {
      assert.equal(DEFAULT_MAX_ATTEMPTS, 10);
      assert.equal(retryPolicy({ status: 500 }, 9).retry, true);
      assert.equal(final(retryPolicy({ status: 500 }, 10)), "gave up after 10 attempts (last: HTTP 500)");
    });

    it("gives up after maxAttempts, naming the last failure", () => {
      const run = series([{ error: "timeout" }], { maxAttempts: 4 });
      assert.equal(run.calls, 4);
      assert.deepEqual(run.waits, [500, 1_000, 2_000]);
      assert.equal(run.reason, "gave up after 4 attempts (last: the request timed out)");
    });

    it("a Retry-After on the last attempt gives up too", () => {
      assert.equal(final(retryPolicy({ status: 429, retryAfter: "1" }, 2, { maxAttempts: 2 })), "gave up after 2 attempts (last: HTTP 429: Retry-After 1 (waiting 1000 ms))");
    });

    it("maxAttempts 1 means one try and no retry", () => {
      assert.equal(final(retryPolicy({ error: "network" }, 1, { maxAttempts: 1 })), "gave up after 1 attempts (last: network error)");
    });

    it("a series that always fails makes exactly maxAttempts calls and waits in between", () => {
      const run = series([{ status: 503 }]);
      assert.equal(run.calls, DEFAULT_MAX_ATTEMPTS);
      assert.equal(run.waits.length, DEFAULT_MAX_ATTEMPTS - 1);
      assert.deepEqual(run.waits, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000]);
    });

    it("a failure followed by a success ends as done, after the wait", () => {
      assert.deepEqual(series([{ status: 502 }, { error: "network" }, { status: 200 }]), { calls: 3, waits: [500, 1_000], refreshes: 0, reason: "done (HTTP 200)" });
    });
  });

  describe("programming errors are thrown, not retried", () => {
    it("attempt must be an integer ≥ 1", () => {
      for (const attempt of [0, -1, 1.5, Number.NaN, Infinity]) {
        assert.throws(() => retryPolicy({ status: 500 }, attempt), RangeError, String(attempt));
      }
    });

    it("maxAttempts must be an integer ≥ 1", () => {
      for (const maxAttempts of [0, -3, 2.5, Number.NaN]) {
        assert.throws(() => retryPolicy({ status: 500 }, 1, { maxAttempts }), RangeError, String(maxAttempts));
      }
    });

    it("the status must be an HTTP status", () => {
      for (const status of [0, 99, 600, 200.5, Number.NaN, -200]) {
        assert.throws(() => retryPolicy({ status }, 1), /not an HTTP status/, String(status));
      }
    });
  });
});

describe("retryAfterMs", () => {
  it("delay-seconds: whole seconds, surrounding whitespace allowed", () => {
    assert.equal(retryAfterMs("120", now), 120_000);
    assert.equal(retryAfterMs("0", now), 0);
    assert.equal(retryAfterMs(" 7 ", now), 7_000);
    assert.equal(retryAfterMs("007", now), 7_000);
  });

  it("no header, or not one HTTP allows, is null", () => {
    for (const header of [undefined, null, "", "  ", "-1", "+5", "1.5", "1e3", "120s", "0x10", "soon", "12 0", "Infinity"]) {
      assert.equal(retryAfterMs(header, now), null, JSON.stringify(header));
    }
  });

  it("anything longer than 15 minutes is 15 minutes, however large", () => {
    assert.equal(retryAfterMs("900", now), 900_000);
    assert.equal(retryAfterMs("901", now), RETRY_AFTER_CAP_MS);
    assert.equal(retryAfterMs("9".repeat(400), now), RETRY_AFTER_CAP_MS);
    assert.equal(retryAfterMs("Sat, 01 Jan 2100 00:00:00 GMT", now), RETRY_AFTER_CAP_MS);
  });

  describe("HTTP dates, in the three forms HTTP allows", () => {
    // 2025-03-14T12:02:00Z, two minutes after NOW, written three ways.
    it("IMF-fixdate", () => {
      assert.equal(retryAfterMs("Fri, 14 Mar 2025 12:02:00 GMT", now), 120_000);
    });

    it("RFC 850, with its two-digit year", () => {
      assert.equal(retryAfterMs("Friday, 14-Mar-25 12:02:00 GMT", now), 120_000);
    });

    it("asctime, with a one-digit day padded by a space and with a two-digit day", () => {
      const early = () => Date.UTC(2025, 2, 4, 12, 0, 0);
      assert.equal(retryAfterMs("Tue Mar  4 12:02:00 2025", early), 120_000);
      assert.equal(retryAfterMs("Fri Mar 14 12:02:00 2025", now), 120_000);
    });

    it("a date in the past means now", () => {
      assert.equal(retryAfterMs("Fri, 14 Mar 2025 11:59:59 GMT", now), 0);
      assert.equal(retryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", now), 0);
      assert.equal(retryAfterMs("Sunday, 06-Nov-94 08:49:37 GMT", now), 0);
      assert.equal(retryAfterMs("Sun Nov  6 08:49:37 1994", now), 0);
    });

    it("exactly now is 0", () => {
      assert.equal(retryAfterMs(new Date(NOW).toUTCString(), now), 0);
    });

    it("reads the clock it is given", () => {
      let reads = 0;
      const clock = () => {
        reads++;
        return NOW;
      };
      assert.equal(retryAfterMs("Fri, 14 Mar 2025 12:00:30 GMT", clock), 30_000);
      assert.equal(reads, 1);
      assert.equal(retryAfterMs("30", clock), 30_000);
      assert.equal(reads, 1, "delay-seconds needs no clock");
    });

    it("look-alikes that are not HTTP dates are null", () => {
      const bad = [
        "Fri, 14 Mar 2025 12:02:00 UTC",
        "Fri, 14 Mar 2025 12:02:00 +0000",
        "fri, 14 mar 2025 12:02:00 gmt",
        "Fri, 14 Mar 2025 12:02 GMT",
        "2025-03-14T12:02:00Z",
        "Fri, 32 Mar 2025 12:02:00 GMT",
        "Fri, 14 Foo 2025 12:02:00 GMT",
        "Fri, 14 Mar 2025 25:02:00 GMT",
        "Fri Mar 14 12:02:00 2025 GMT",
        "1741953720",
      ];
      for (const header of bad) {
        const ms = retryAfterMs(header, now);
        // The bare number is delay-seconds (capped), not a timestamp; every other one is no usable header.
        if (header === "1741953720") assert.equal(ms, RETRY_AFTER_CAP_MS);
        else assert.equal(ms, null, header);
      }
    });

    describe("the RFC 850 two-digit year is read as HTTP says, relative to today", () => {
      it("in 2050, '50' is 2050, not 1950", () => {
        const in2050 = () => Date.UTC(2050, 10, 6, 8, 48, 37);
        assert.equal(retryAfterMs("Sunday, 06-Nov-50 08:49:37 GMT", in2050), 60_000);
      });

      it("at the end of 2099, '00' is 2100, not 2000", () => {
        const endOf2099 = () => Date.UTC(2099, 11, 31, 23, 59, 0);
        assert.equal(retryAfterMs("Friday, 01-Jan-00 00:00:00 GMT", endOf2099), 60_000);
      });

      it("a year more than 50 years ahead is the one in the past", () => {
        // From 2025, '76' would be 2076 (51 years on): it is 1976, long past.
        assert.equal(retryAfterMs("Sunday, 14-Mar-76 12:02:00 GMT", now), 0);
        // '75' is 2075, 50 years on: in the future, so the cap.
        assert.equal(retryAfterMs("Thursday, 14-Mar-75 12:02:00 GMT", now), RETRY_AFTER_CAP_MS);
      });
    });
  });

  it("uses the real clock by default", () => {
    assert.equal(retryAfterMs(new Date(Date.now() + 3_600_000).toUTCString()), RETRY_AFTER_CAP_MS);
    assert.equal(retryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT"), 0);
  });
});
