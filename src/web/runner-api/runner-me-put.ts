import type { Request, Response } from "express";
import { badRequest } from "../../http/http-error";
import { announceRunner, RunnerInfoError } from "../../runner/runner-registry";
import type { RunnerApiDeps } from "./runner-api-deps";
import { runnerOf } from "./runner-auth";
import { bodyObject, runnerLabelsOf } from "./runner-input";

/**
 * PUT /runner/me `{labels, version, slots}` — a runner says what it is when it starts: its labels (with
 * `self.hosted` and its OS), the version of Pipelines it runs and its slots. Stored on its row for the runners'
 * listing, and its labels decide which jobs count as takeable. 204.
 */
export function runnerMePut(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const body = bodyObject(req);
    const labels = runnerLabelsOf(body.labels);
    if (labels === undefined) throw badRequest("labels must be the runner's labels (a list)");
    if (typeof body.version !== "string" || !/^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$/.test(body.version)) throw badRequest("version must be the runner's version (e.g. 0.1.0)");
    if (typeof body.slots !== "number" || !Number.isInteger(body.slots) || body.slots < 1 || body.slots > 64) throw badRequest("slots must be a whole number from 1 to 64");
    try {
      await announceRunner(deps.models, runnerOf(res), { labels, version: body.version, slots: body.slots });
    } catch (err) {
      if (err instanceof RunnerInfoError) throw badRequest(err.message);
      throw err;
    }
    res.status(204).end();
  };
}
