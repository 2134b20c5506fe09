import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { retryPolicy, type CallOutcome } from "../http/retry-policy";
import { LeaseLostError, OverCapError, type ArtifactRef, type JobSpec, type LeaseRef, type RunnerInfo, type RunnerProtocol, type StepResultReport, type StepStartAnswer, type StepStartInfo, type TestReportSummary } from "./runner-protocol";

export interface HttpRunnerOptions {
  /** The web tier's base URL (its PIPELINES_BASE_URL), e.g. https://pipelines.example.com. */
  server: string;
  /** The runner token (`pipelines runner-token create`). Sent only as `Authorization: Bearer`, never logged. */
  token: string;
  /** Per-request timeout. Default 20 s. */
  timeoutMs?: number;
  /** Attempts per call that may be repeated safely, the first included. Default 5 (about 15 s of backoff at most). */
  maxAttempts?: number;
  /** The longest an artifact or cache upload or download may take. Default 1 hour. */
  streamTimeoutMs?: number;
  /** Called when the server refuses the token (it was revoked): the runner should stop. */
  onUnauthorized?(message: string): void;
  /** For tests. */
  fetch?: typeof fetch;
  sleep?(ms: number): Promise<void>;
  random?(): number;
}

/** The runner API answered something other than what the protocol expects (and retrying will not change it). */
export class RunnerApiError extends Error {
  constructor(
    /** The HTTP status; 0 when there was no answer. */
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "RunnerApiError";
  }
}

/** The server does not accept the runner token (revoked, or never created on this server). */
export class RunnerUnauthorizedError extends RunnerApiError {
  constructor(status: number, message: string) {
    super(status, message);
    this.name = "RunnerUnauthorizedError";
  }
}

interface Call {
  method: "GET" | "POST" | "PUT";
  path: string;
  json?: unknown;
  raw?: Buffer;
  headers?: Record<string, string>;
  /** Whether sending the request twice does no harm, so it is retried after a network error, a timeout or a 5xx. */
  idempotent: boolean;
}

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_STREAM_TIMEOUT_MS = 3600_000;

/**
 * RunnerProtocol over the runner API (HTTP + JSON, `Authorization: Bearer <runner token>`): what `npm run runner`
 * uses on a machine that has no database credentials. Every call but `claim` may be repeated safely (a heartbeat
 * renews, a step start/finish sets a state, a log chunk is stored once per offset, a job finish after a lost
 * answer finds the lease gone), so those are retried on network errors, timeouts, 408/429/5xx under the shared
 * retry policy. A claim is not: if its answer was lost, the job it leased expires and is handed out again, and the
 * runner loop simply asks again. 409 `lease-lost` becomes LeaseLostError; 401/403 RunnerUnauthorizedError.
 */
export class HttpRunnerProtocol implements RunnerProtocol {
  private readonly base: string;
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: HttpRunnerOptions) {
    let url: URL;
    try {
      url = new URL(o.server);
    } catch {
      throw new Error(`the server URL "${o.server}" is not a URL (e.g. https://pipelines.example.com)`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`the server URL must be http:// or https://, not ${url.protocol}`);
    if (url.username || url.password) throw new Error("the server URL must not carry credentials; the runner token is given separately");
    url.search = "";
    url.hash = "";
    this.base = url.toString().replace(/\/+$/, "");
    this.fetch = o.fetch ?? globalThis.fetch.bind(globalThis);
    this.sleep = o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** The name the server knows this token by; throws RunnerUnauthorizedError if it does not know it. */
  async whoAmI(): Promise<{ name: string }> {
    const body = await this.call({ method: "GET", path: "/runner/me", idempotent: true });
    const name = (body as { name?: unknown } | null)?.name;
    if (typeof name !== "string") throw new RunnerApiError(200, `${this.base}/runner/me did not answer a runner name: is --server the Pipelines web tier?`);
    return { name };
  }

  /** PUT /runner/me: the runner's labels, version and slots, for the server's listing of runners. */
  async announce(info: RunnerInfo): Promise<void> {
    await this.call({ method: "PUT", path: "/runner/me", json: { labels: info.labels, version: info.version, slots: info.slots }, idempotent: true });
  }

  async claim(runnerName: string, labels?: string[]): Promise<JobSpec | null> {
    const body = await this.call({ method: "POST", path: "/runner/claim", json: labels ? { name: runnerName, labels } : { name: runnerName }, idempotent: false });
    if (body === null) return null;
    const spec = body as Partial<JobSpec>;
    if (!Number.isSafeInteger(spec.jobId) || typeof spec.leaseToken !== "string" || !spec.build || !spec.plan) {
      throw new RunnerApiError(200, "the server's answer to a claim is not a job");
    }
    return spec as JobSpec;
  }

  async heartbeat(lease: LeaseRef): Promise<{ stop: boolean }> {
    const body = await this.call({ method: "POST", path: `${jobPath(lease)}/heartbeat`, json: { leaseToken: lease.leaseToken }, idempotent: true });
    return { stop: (body as { stop?: unknown } | null)?.stop === true };
  }

  async stepStarted(lease: LeaseRef, stepIndex: number, info?: StepStartInfo): Promise<StepStartAnswer> {
    const json = info ? { leaseToken: lease.leaseToken, executor: info.executor } : { leaseToken: lease.leaseToken };
    const body = await this.call({ method: "POST", path: `${stepPath(lease, stepIndex)}/start`, json, idempotent: true });
    return stepStartAnswer(body);
  }

  async appendLog(lease: LeaseRef, stepIndex: number, offset: number, data: Buffer): Promise<void> {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`a log offset is a whole number of bytes, not ${offset}`);
    if (data.length === 0) return;
    await this.call({
      method: "PUT",
      path: `${stepPath(lease, stepIndex)}/log?offset=${offset}`,
      raw: data,
      headers: { "X-Lease-Token": lease.leaseToken },
      idempotent: true,
    });
  }

  async stepFinished(lease: LeaseRef, stepIndex: number, result: StepResultReport): Promise<void> {
    await this.call({
      method: "POST",
      path: `${stepPath(lease, stepIndex)}/finish`,
      json: { leaseToken: lease.leaseToken, state: result.state, exitCode: result.exitCode, ...(result.outputVariables ? { outputVariables: result.outputVariables } : {}) },
      idempotent: true,
    });
  }

  async testReport(lease: LeaseRef, stepIndex: number, report: TestReportSummary): Promise<void> {
    await this.call({ method: "POST", path: `${stepPath(lease, stepIndex)}/test-report`, json: { leaseToken: lease.leaseToken, report }, idempotent: true });
  }

  async jobFinished(lease: LeaseRef, result: { pausedAt?: number }): Promise<void> {
    const json = result.pausedAt === undefined ? { leaseToken: lease.leaseToken } : { leaseToken: lease.leaseToken, pausedAt: result.pausedAt };
    await this.call({ method: "POST", path: `${jobPath(lease)}/finish`, json, idempotent: true });
  }

  async release(lease: LeaseRef): Promise<void> {
    await this.call({ method: "POST", path: `${jobPath(lease)}/release`, json: { leaseToken: lease.leaseToken }, idempotent: false });
  }

  async listArtifacts(lease: LeaseRef): Promise<ArtifactRef[]> {
    const body = await this.call({ method: "GET", path: `${jobPath(lease)}/artifacts`, headers: { "X-Lease-Token": lease.leaseToken }, idempotent: true });
    const list = (body as { artifacts?: unknown } | null)?.artifacts;
    if (!Array.isArray(list)) throw new RunnerApiError(200, "the server's list of artifacts is not a list");
    return list.filter((a): a is ArtifactRef => typeof a === "object" && a !== null && Number.isSafeInteger((a as ArtifactRef).id) && typeof (a as ArtifactRef).name === "string");
  }

  async downloadArtifact(lease: LeaseRef, artifactId: number): Promise<Readable> {
    const res = await this.streamCall("GET", `${jobPath(lease)}/artifacts/${encodeURIComponent(String(artifactId))}`, lease);
    if (!res) throw new RunnerApiError(404, `the server has no artifact ${artifactId} for this job`);
    return res;
  }

  async uploadArtifact(lease: LeaseRef, stepIndex: number, artifact: { name: string; type: "shared" | "scoped" }, body: Readable): Promise<{ size: number }> {
    const query = `name=${encodeURIComponent(artifact.name)}&type=${artifact.type}`;
    const answer = await this.upload(`${stepPath(lease, stepIndex)}/artifacts?${query}`, lease, body);
    const size = (answer as { size?: unknown } | null)?.size;
    return { size: typeof size === "number" ? size : 0 };
  }

  async downloadCache(lease: LeaseRef, name: string): Promise<Readable | null> {
    return this.streamCall("GET", `${jobPath(lease)}/cache?name=${encodeURIComponent(name)}`, lease);
  }

  async uploadCache(lease: LeaseRef, name: string, body: Readable): Promise<{ saved: boolean }> {
    const answer = await this.upload(`${jobPath(lease)}/cache?name=${encodeURIComponent(name)}`, lease, body);
    return { saved: (answer as { saved?: unknown } | null)?.saved === true };
  }

  /**
   * Sends a tar.gz stream (once: a stream cannot be sent again, so an upload is never retried). 413 `over-cap` →
   * OverCapError.
   */
  private async upload(path: string, lease: LeaseRef, body: Readable): Promise<unknown> {
    const what = `PUT ${path.replace(/\?.*$/, "")}`;
    let res: Response;
    try {
      res = await this.fetch(this.base + path, {
        method: "PUT",
        headers: { ...this.headers(), "Content-Type": "application/gzip", "X-Lease-Token": lease.leaseToken },
        body: Readable.toWeb(body) as ReadableStream<Uint8Array>,
        duplex: "half",
        redirect: "manual",
        signal: AbortSignal.timeout(this.o.streamTimeoutMs ?? DEFAULT_STREAM_TIMEOUT_MS),
      } as RequestInit);
    } catch (err) {
      body.destroy();
      // The runner's own counting stopped the stream: that is the reason, not the network.
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof OverCapError) throw cause;
      if (err instanceof OverCapError) throw err;
      throw new RunnerApiError(0, `${what} to ${this.base} failed: cannot reach the server (${causeOf(err)})`);
    }
    return this.answer(res, what);
  }

  /** A GET answered with a stream: the body, or null for 404. Retried (until the answer starts) like an idempotent call. */
  private async streamCall(method: "GET", path: string, lease: LeaseRef): Promise<Readable | null> {
    const what = `${method} ${path.replace(/\?.*$/, "")}`;
    const maxAttempts = this.o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    for (let attempt = 1; ; attempt++) {
      let outcome: CallOutcome;
      let failure: string;
      try {
        const res = await this.fetch(this.base + path, {
          method,
          headers: { ...this.headers(), Accept: "application/gzip, application/json", "X-Lease-Token": lease.leaseToken },
          redirect: "manual",
          signal: AbortSignal.timeout(this.o.streamTimeoutMs ?? DEFAULT_STREAM_TIMEOUT_MS),
        });
        if (res.status === 200 && res.body) return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
        if (res.status === 404) {
          await res.body?.cancel();
          return null;
        }
        await this.answer(res, what);
        outcome = { status: res.status, retryAfter: res.headers.get("retry-after") };
        failure = `HTTP ${res.status}`;
      } catch (err) {
        if (err instanceof RunnerApiError || err instanceof LeaseLostError) {
          if (!(err instanceof RunnerApiError) || err.status < 500) throw err;
          outcome = { status: err.status, retryAfter: null };
          failure = err.message;
        } else {
          const timeout = (err as Error).name === "TimeoutError";
          outcome = { error: timeout ? "timeout" : "network" };
          failure = timeout ? "no answer in time" : `cannot reach the server (${causeOf(err)})`;
        }
      }
      const decision = retryPolicy(outcome, attempt, { maxAttempts, random: this.o.random });
      if (!decision.retry) {
        const status = "status" in outcome ? outcome.status : 0;
        throw new RunnerApiError(status, `${what} to ${this.base} failed: ${failure}${attempt > 1 ? ` (after ${attempt} attempts)` : ""}`);
      }
      await this.sleep(decision.delayMs);
    }
  }

  private headers(): Record<string, string> {
    return { Authorization: `Bearer ${this.o.token}`, "User-Agent": "pipelines-runner" };
  }

  /** The JSON of a 2xx answer; otherwise the error it stands for (lease lost, over the cap, refused token…). */
  private async answer(res: Response, what: string): Promise<unknown> {
    const text = await res.text();
    if (res.status >= 200 && res.status < 300) return res.status === 204 || text === "" ? null : parseJson(text, what);
    const error = errorOf(text);
    if (res.status === 409 && error.code === "lease-lost") throw new LeaseLostError(error.message ?? undefined);
    if (res.status === 413 && error.code === "over-cap") throw new OverCapError(error.message ?? "over the server's cap");
    if (res.status === 401 || res.status === 403) {
      const message = `the server refused the runner token (HTTP ${res.status}${error.message ? `: ${error.message}` : ""})`;
      this.o.onUnauthorized?.(message);
      throw new RunnerUnauthorizedError(res.status, message);
    }
    throw new RunnerApiError(res.status, `${what} to ${this.base} failed: HTTP ${res.status}${error.message ? `: ${error.message}` : ""}`);
  }

  /** One call, retried as the retry policy says when it is idempotent. Resolves with the parsed JSON body, or null for 204. */
  private async call(c: Call): Promise<unknown> {
    const maxAttempts = c.idempotent ? (this.o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS) : 1;
    const what = `${c.method} ${c.path.replace(/\?.*$/, "")}`;
    for (let attempt = 1; ; attempt++) {
      let outcome: CallOutcome;
      let failure: string;
      try {
        const res = await this.fetch(this.base + c.path, {
          method: c.method,
          headers: {
            Authorization: `Bearer ${this.o.token}`,
            Accept: "application/json",
            "User-Agent": "pipelines-runner",
            ...(c.json !== undefined ? { "Content-Type": "application/json" } : {}),
            ...(c.raw !== undefined ? { "Content-Type": "application/octet-stream" } : {}),
            ...c.headers,
          },
          body: c.json !== undefined ? JSON.stringify(c.json) : c.raw,
          redirect: "manual",
          signal: AbortSignal.timeout(this.o.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        });
        const text = await res.text();
        if (res.status >= 200 && res.status < 300) return res.status === 204 || text === "" ? null : parseJson(text, what);
        const error = errorOf(text);
        if (res.status === 409 && error.code === "lease-lost") throw new LeaseLostError(error.message ?? undefined);
        if (res.status === 401 || res.status === 403) {
          const message = `the server refused the runner token (HTTP ${res.status}${error.message ? `: ${error.message}` : ""})`;
          this.o.onUnauthorized?.(message);
          throw new RunnerUnauthorizedError(res.status, message);
        }
        if (res.status >= 300 && res.status < 400) {
          throw new RunnerApiError(res.status, `the server redirected ${what} to ${res.headers.get("location") ?? "elsewhere"}: give that base URL as --server`);
        }
        outcome = { status: res.status, retryAfter: res.headers.get("retry-after") };
        failure = `HTTP ${res.status}${error.message ? `: ${error.message}` : ""}`;
      } catch (err) {
        if (err instanceof RunnerApiError || err instanceof LeaseLostError) throw err;
        const timeout = (err as Error).name === "TimeoutError";
        outcome = { error: timeout ? "timeout" : "network" };
        failure = timeout ? "no answer in time" : `cannot reach the server (${causeOf(err)})`;
      }
      const decision = retryPolicy(outcome, attempt, { maxAttempts, random: this.o.random });
      if (!decision.retry) {
        const status = "status" in outcome ? outcome.status : 0;
        throw new RunnerApiError(status, `${what} to ${this.base} failed: ${failure}${attempt > 1 ? ` (after ${attempt} attempts)` : ""}`);
      }
      await this.sleep(decision.delayMs);
    }
  }
}

/** The server's answer to a step start, read defensively: anything it does not say is left out. */
function stepStartAnswer(body: unknown): StepStartAnswer {
  const a = (body ?? {}) as { stop?: unknown; oidcToken?: unknown; env?: unknown; secrets?: unknown; gate?: unknown };
  const out: StepStartAnswer = { stop: a.stop === true };
  if (typeof a.oidcToken === "string" && a.oidcToken.length > 0) out.oidcToken = a.oidcToken;
  if (a.env && typeof a.env === "object" && !Array.isArray(a.env)) {
    out.env = Object.fromEntries(Object.entries(a.env as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === "string"));
  }
  if (Array.isArray(a.secrets)) out.secrets = a.secrets.filter((v): v is string => typeof v === "string" && v.length > 0);
  if (a.gate === "wait" || a.gate === "refused" || a.gate === "failed") out.gate = a.gate;
  return out;
}

const jobPath = (lease: LeaseRef) => `/runner/jobs/${encodeURIComponent(String(lease.jobId))}`;
const stepPath = (lease: LeaseRef, stepIndex: number) => `${jobPath(lease)}/steps/${encodeURIComponent(String(stepIndex))}`;

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RunnerApiError(200, `the answer to ${what} is not JSON: is --server the Pipelines web tier?`);
  }
}

/** `{error, code}` of an error answer, when it is one. */
function errorOf(text: string): { message: string | null; code: string | null } {
  try {
    const body = JSON.parse(text) as { error?: unknown; code?: unknown } | null;
    return {
      message: typeof body?.error === "string" ? body.error.slice(0, 500) : null,
      code: typeof body?.code === "string" ? body.code : null,
    };
  } catch {
    return { message: null, code: null };
  }
}

/** What fetch's "fetch failed" hides: ECONNREFUSED, ENOTFOUND… */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === "string") return cause.code;
  if (cause && typeof cause.message === "string") return cause.message;
  return (err as Error).message;
}
