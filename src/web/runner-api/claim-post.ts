import type { Request, Response } from "express";
import { badRequest } from "../../http/http-error";
import { RUNNER_NAME } from "../../runner/runner-tokens";
import { callJobs, type RunnerApiDeps } from "./runner-api-deps";
import { runnerOf } from "./runner-auth";
import { bodyObject, runnerLabelsOf } from "./runner-input";

/**
 * POST /runner/claim `{name, labels?}` — the oldest job a runner may take now (one whose steps' `runs-on` labels
 * are all among `labels`; without labels, only jobs that ask for none or `self.hosted`): 200 with its JobSpec (the lease, the plan,
 * the environment and the clone credentials: `Cache-Control: no-store`, and never logged), or 204 when there is
 * none. `name` is the runner process (its host); the lease owner is the registered runner, plus that name when it
 * differs, so several processes may share one token and still be told apart.
 */
export function claimPost(deps: RunnerApiDeps) {
  return async (req: Request, res: Response) => {
    const runner = runnerOf(res);
    const { name, labels: given } = bodyObject(req);
    const labels = runnerLabelsOf(given);
    if (name !== undefined && (typeof name !== "string" || !RUNNER_NAME.test(name))) {
      throw badRequest("name must be the runner's name: letters, digits and . _ @ : -, at most 128");
    }
    const owner = name === undefined || name === runner.name ? runner.name : `${runner.name}/${name}`;
    const spec = await callJobs(() => deps.jobs.claim(owner, labels));
    if (!spec) {
      res.status(204).end();
      return;
    }
    deps.log.info("runner claimed a job", { runner: owner, job: spec.jobId, build: spec.build.id, fromStep: spec.startStep });
    res.status(200).json(spec);
  };
}
