import type { Request } from "express";
import { badRequest } from "../../http/http-error";
import { REPOSITORY_FULL_NAME } from "../../applications/application-input";

/**
 * The repository a page was opened for: inside Bitbucket from the context parameters it put in the (signed) URL,
 * `repoPath` = `{repository.full_name}`, `repoUuid` = `{repository.uuid}`; on a standalone page from its path
 * (`/app/:workspace/:repo/…`).
 */
export function repositoryOf(req: Request): { fullName: string; uuid: string | null } {
  const params = req.params as Record<string, string | undefined>;
  const fullName = params.workspace && params.repo ? `${params.workspace}/${params.repo}` : req.query.repoPath;
  if (typeof fullName !== "string" || !REPOSITORY_FULL_NAME.test(fullName)) {
    throw badRequest("this page needs the repository it is opened for (repoPath=<workspace>/<repository>)");
  }
  const uuid = typeof req.query.repoUuid === "string" ? req.query.repoUuid : null;
  return { fullName, uuid };
}
