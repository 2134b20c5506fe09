import type { Request } from "express";
import { badRequest } from "../../http/http-error";
import { checkLabels, RunnerInfoError } from "../../runner/runner-registry";
import { MAX_FAILURE_OUTPUT, MAX_TEST_FAILURES, type ReportedStepState, type StepStartInfo, type TestFailure, type TestReportSummary } from "../../runner/runner-protocol";

/** The step states a runner may report. */
export const REPORTED_STEP_STATES: readonly ReportedStepState[] = ["SUCCESSFUL", "FAILED", "STOPPED", "TIMED_OUT", "SKIPPED"];
/** Lease tokens are random and URL-safe; anything else cannot be one. */
const LEASE_TOKEN = /^[A-Za-z0-9_-]{1,128}$/;
/** A step's exit status: the shell's (0–255), or 128 + a signal number. */
const MAX_EXIT_CODE = 65_535;

/** The JSON body as an object; 400 when it is anything else. */
export function bodyObject(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("the body must be a JSON object");
  return body as Record<string, unknown>;
}

export function jobIdParam(req: Request): number {
  const raw = req.params.jobId;
  const id = /^[1-9][0-9]{0,14}$/.test(raw ?? "") ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw badRequest("the job id must be a positive whole number");
  return id;
}

export function stepIndexParam(req: Request): number {
  const raw = req.params.step;
  if (!/^(0|[1-9][0-9]{0,3})$/.test(raw ?? "")) throw badRequest("the step index must be a whole number from 0 to 9999");
  return Number(raw);
}

export function leaseToken(value: unknown, where = "leaseToken"): string {
  if (typeof value !== "string" || !LEASE_TOKEN.test(value)) throw badRequest(`${where} must be the lease token the claim returned`);
  return value;
}

export function logOffset(value: unknown): number {
  const offset = typeof value === "string" && /^(0|[1-9][0-9]{0,14})$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(offset)) throw badRequest("offset must be a whole number of bytes, 0 or more");
  return offset;
}

export function stepState(value: unknown): ReportedStepState {
  if (typeof value !== "string" || !(REPORTED_STEP_STATES as readonly string[]).includes(value)) {
    throw badRequest(`state must be one of ${REPORTED_STEP_STATES.join(", ")}`);
  }
  return value as ReportedStepState;
}

export function exitCode(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_EXIT_CODE) {
    throw badRequest(`exitCode must be null or a whole number from 0 to ${MAX_EXIT_CODE}`);
  }
  return value;
}

/** The manual step the job stopped before, if any. */
export function pausedAt(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 9999) throw badRequest("pausedAt must be a step index (a whole number from 0 to 9999)");
  return value;
}

/** How the runner says it isolates a step (absent: it did not say). */
export function stepStartInfo(body: Record<string, unknown>): StepStartInfo | undefined {
  if (body.executor === undefined) return undefined;
  if (body.executor !== "sandbox" && body.executor !== "container" && body.executor !== "host") throw badRequest("executor must be sandbox, container or host");
  return { executor: body.executor };
}

/** A step's output variables: an object of names to one-line text values (absent: none). */
export function outputVariables(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw badRequest("outputVariables must be an object of names to values");
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) throw badRequest(`outputVariables: "${name}" is not a variable name`);
    if (typeof v !== "string" || v.length > 4096 || /[\0\n]/.test(v)) throw badRequest(`outputVariables.${name} must be one line of text, at most 4096 characters`);
    out[name] = v;
  }
  return out;
}

/** A count of tests or files: a whole number from 0 to a billion. */
function count(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 1e9) throw badRequest(`report.${name} must be a whole number from 0 to 1000000000`);
  return value;
}

function text(value: unknown, name: string, max: number): string {
  if (typeof value !== "string") throw badRequest(`${name} must be a string`);
  return value.slice(0, max);
}

/** The `report` of a step's test-report call, checked and cut to what the server keeps. */
export function testReportOf(body: Record<string, unknown>): TestReportSummary {
  const raw = body.report;
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw badRequest("report must be an object");
  const r = raw as Record<string, unknown>;
  if (!Array.isArray(r.failures)) throw badRequest("report.failures must be a list");
  const failures: TestFailure[] = r.failures.slice(0, MAX_TEST_FAILURES).map((f: unknown, i: number) => {
    if (!f || typeof f !== "object" || Array.isArray(f)) throw badRequest(`report.failures[${i}] must be an object`);
    const o = f as Record<string, unknown>;
    return {
      suite: text(o.suite, `report.failures[${i}].suite`, 500),
      name: text(o.name, `report.failures[${i}].name`, 500),
      message: text(o.message, `report.failures[${i}].message`, 1000),
      output: text(o.output, `report.failures[${i}].output`, MAX_FAILURE_OUTPUT),
    };
  });
  return { files: count(r.files, "files"), passed: count(r.passed, "passed"), failed: count(r.failed, "failed"), skipped: count(r.skipped, "skipped"), failures, unreadable: count(r.unreadable, "unreadable") };
}

/** A runner's labels as a request gives them: a list of labels (absent: the runner did not say). */
export function runnerLabelsOf(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((l): l is string => typeof l === "string")) throw badRequest("labels must be a list of labels");
  try {
    return checkLabels(value);
  } catch (err) {
    if (err instanceof RunnerInfoError) throw badRequest(`labels: ${err.message}`);
    throw err;
  }
}
