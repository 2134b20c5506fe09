import type { Request } from "express";
import { badRequest } from "../../http/http-error";
import { REPOSITORY_FULL_NAME } from "../../applications/application-input";

/**
 * The repository a page was opened for, from the context parameters Bitbucket put in the (signed) URL:
 * `repoPath` = `{repository.full_name}`, `repoUuid` = `{repository.uuid}`.
 */
export function repositoryOf(req: Request): { fullName: string; uuid: string | null } {
  const fullName = req.query.repoPath;
  if (typeof fullName !== "string" || !REPOSITORY_FULL_NAME.test(fullName)) {
    throw badRequest("this page needs the repository it is opened for (repoPath=<workspace>/<repository>)");
  }
  const uuid = typeof req.query.repoUuid === "string" ? req.query.repoUuid : null;
  return { fullName, uuid };
}
