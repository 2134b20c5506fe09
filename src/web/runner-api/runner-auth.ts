import type { RequestHandler, Response } from "express";
import type { Models, Runner } from "../../db/models";
import { asyncHandler } from "../../http/async-handler";
import { HttpError } from "../../http/http-error";
import { authenticateRunner } from "../../runner/runner-tokens";

const refused = (message: string) => new HttpError(401, message, { "WWW-Authenticate": 'Bearer realm="pipelines-runner"' });

/**
 * Every runner API request carries `Authorization: Bearer <runner token>`. The token is hashed and looked up in the
 * runners table (a revoked runner is refused at its next request); the runner is then `runnerOf(res)`.
 */
export function runnerAuth(models: Models): RequestHandler {
  return asyncHandler(async (req, res, next) => {
    const header = req.get("Authorization");
    const match = header ? /^Bearer[ ]+(\S+)[ ]*$/i.exec(header) : null;
    if (!match) throw refused("the runner API needs the header Authorization: Bearer <runner token>");
    const runner = await authenticateRunner(models, match[1]);
    if (!runner) throw refused("the runner token is not known (revoked, or never created); create one with `npm run pipelines -- runner-token create --name <name>`");
    res.locals.runner = runner;
    next();
  });
}

/** The runner that made this request (set by `runnerAuth`). */
export function runnerOf(res: Response): Runner {
  const runner = res.locals.runner as Runner | undefined;
  if (!runner) throw new Error("runnerOf: the route is not behind runnerAuth");
  return runner;
}
