import type { Models } from "../../db/models";
import { badRequest } from "../../http/http-error";
import type { Logger } from "../../log/logger";
import type { RunnerProtocol } from "../../runner/runner-protocol";

/** What the runner API's handlers need: the runners table (auth) and the job service (the protocol itself). */
export interface RunnerApiDeps {
  models: Models;
  jobs: RunnerProtocol;
  log: Logger;
}

/**
 * Calls the job service. It throws RangeError for input that names no such thing (a step the build does not have,
 * a log chunk past the cap): that is the caller's mistake, answered 400. LeaseLostError passes through (→ 409).
 */
export async function callJobs<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof RangeError) throw badRequest(err.message);
    throw err;
  }
}
