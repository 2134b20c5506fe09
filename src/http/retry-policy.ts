import type { CallOutcome } from "./call-outcome";

/** What one call to Bitbucket came to. */
export type { CallOutcome };

/**
 * What to do next. `retry: false` ends the series — `reason` says whether it succeeded, was refused for good, or
 * ran out of attempts. `retry: true` asks the caller to wait `delayMs` and call again; with `refreshToken` it must
 * first mint a new access token (and pass `tokenRefreshed: true` from then on).
 */
export type RetryDecision = { retry: false; reason: string } | { retry: true; delayMs: number; reason: string; refreshToken?: boolean };

export interface RetryOptions {
  /** Attempts in all, the first included; when the attempt just made is the last, a failure gives up. Default 10. */
  maxAttempts?: number;
  /** A 401 already led to a new token in this series, so another 401 is final. Default false. */
  tokenRefreshed?: boolean;
  /** Uniform in [0, 1), for the jitter. Default Math.random. */
  random?: () => number;
  /** Milliseconds since the epoch, to read a `Retry-After` HTTP date. Default Date.now. */
  now?: () => number;
}

export const DEFAULT_MAX_ATTEMPTS = 10;
/** Backoff: the n-th failure waits a uniform random time in [0, min(CAP, BASE · 2^(n-1))) ("full jitter"). */
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 5 * 60_000;
/** The longest wait a `Retry-After` header can ask for; longer asks wait this long. */
export const RETRY_AFTER_CAP_MS = 15 * 60_000;

/**
 * The one place that decides whether a call to Bitbucket (posting a commit status, reading a file, …) is tried
 * again; callers loop on its answer instead of deciding themselves. `attempt` is the number of the attempt that
 * produced `outcome`, starting at 1.
 *
 * - 2xx: done.
 * - 401: retry at once with a new token, once per series (`opts.tokenRefreshed` says it was done); then final.
 * - 400, 403, 404, 422 and any other 4xx but 408 and 429: final — the same request cannot succeed.
 * - 429, and 503 that says `Retry-After`: wait what `Retry-After` asks (seconds or an HTTP date, at most 15 min);
 *   without a usable header, back off.
 * - 408, 5xx, network error, timeout: back off exponentially with full jitter (1 s base, ×2, 5 min cap).
 * - Any retry when `attempt` has reached `maxAttempts`: `gave up after N attempts`.
 */
export function retryPolicy(outcome: CallOutcome, attempt: number, opts: RetryOptions = {}): RetryDecision {
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isSafeInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer ≥ 1, got ${attempt}`);
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`maxAttempts must be an integer ≥ 1, got ${maxAttempts}`);

  const retry = (delayMs: number, reason: string, refreshToken = false): RetryDecision => {
    if (attempt >= maxAttempts) return { retry: false, reason: `gave up after ${attempt} attempts (last: ${reason})` };
    return refreshToken ? { retry: true, delayMs, reason, refreshToken: true } : { retry: true, delayMs, reason };
  };
  const backoff = (reason: string) => retry(backoffMs(attempt, opts.random ?? Math.random), reason);

  if ("error" in outcome) return backoff(outcome.error === "timeout" ? "the request timed out" : "network error");

  const { status } = outcome;
  if (!Number.isSafeInteger(status) || status < 100 || status > 599) throw new RangeError(`not an HTTP status: ${status}`);
  if (status >= 200 && status < 300) return { retry: false, reason: `done (HTTP ${status})` };
  if (status === 401) {
    if (opts.tokenRefreshed) return { retry: false, reason: "HTTP 401 again after a new token: the installation's credentials are not accepted" };
    return retry(0, "HTTP 401: retrying once with a new token", true);
  }
  if (status === 429 || status === 503) {
    const waitMs = retryAfterMs(outcome.retryAfter, opts.now ?? Date.now);
    if (waitMs !== null) return retry(waitMs, `HTTP ${status}: Retry-After ${outcome.retryAfter} (waiting ${waitMs} ms)`);
    return backoff(`HTTP ${status}`);
  }
  if (status === 408 || status >= 500) return backoff(`HTTP ${status}`);
  return { retry: false, reason: FINAL[status] ?? `HTTP ${status}: not retried` };
}

const FINAL: Record<number, string> = {
  400: "HTTP 400: the request was rejected as invalid; not retried",
  403: "HTTP 403: the installation is not allowed to do this; not retried",
  404: "HTTP 404: the repository or commit was not found; not retried",
  422: "HTTP 422: the request was rejected as invalid; not retried",
};

/** Full jitter: uniform in [0, min(cap, base · 2^(attempt-1))). */
function backoffMs(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  // The interval is half-open: even a `random` that breaks its contract and returns 1 stays below the ceiling.
  return Math.min(Math.floor(unit * ceiling), ceiling - 1);
}

const DELAY_SECONDS = /^\d+$/;
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^[A-Z][a-z]+, (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}:\d{2}:\d{2}) GMT$/;
const ASCTIME_DATE = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * The wait a `Retry-After` header asks for, in ms, capped at {@link RETRY_AFTER_CAP_MS}; null when absent or not
 * one of the forms HTTP allows (delay-seconds, or an HTTP date in any of its three formats). A date in the past
 * means "now" (0).
 */
export function retryAfterMs(header: string | null | undefined, now: () => number = Date.now): number | null {
  if (typeof header !== "string") return null;
  const value = header.trim();
  let ms: number;
  if (DELAY_SECONDS.test(value)) {
    ms = Number(value) * 1000;
  } else if (IMF_FIXDATE.test(value) || RFC850_DATE.test(value) || ASCTIME_DATE.test(value)) {
    const nowMs = now();
    // asctime carries no zone; HTTP dates are always GMT.
    const normalised = RFC850_DATE.test(value) ? rfc850AsImf(value, nowMs) : ASCTIME_DATE.test(value) ? `${value} GMT` : value;
    const at = Date.parse(normalised);
    if (!Number.isFinite(at)) return null;
    ms = Math.max(0, at - nowMs);
  } else {
    return null;
  }
  return Math.min(ms, RETRY_AFTER_CAP_MS);
}

/**
 * An RFC 850 date with its two-digit year made whole as HTTP requires (RFC 9110 §5.6.7): the one year with those
 * last two digits in the window from 49 years before the year of `nowMs` to 50 years after it, so that a date more
 * than 50 years ahead is read as the most recent such year in the past. (`Date.parse` would instead put 00–49 in the
 * 2000s and 50–99 in the 1900s, whatever the date today.)
 */
function rfc850AsImf(value: string, nowMs: number): string {
  const [, day, month, yy, time] = RFC850_DATE.exec(value) ?? [];
  const thisYear = new Date(nowMs).getUTCFullYear();
  let year = thisYear - (thisYear % 100) + Number(yy);
  if (year > thisYear + 50) year -= 100;
  else if (year <= thisYear - 50) year += 100;
  return `${day} ${month} ${year} ${time} GMT`;
}
