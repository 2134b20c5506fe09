import type { Request, Response } from "express";
import { findApplication } from "../../applications/find-application";
import type { EngineContext } from "../../builds/engine-context";
import { tenantOf } from "../../http/tenant-auth";
import { isSafeRefName } from "../../forges/events";
import { badRequest, notFound } from "../../http/http-error";
import { DEFAULT_PIPELINE_FILE, formatDiagnostic, type CustomVariable } from "../../pipelines";
import { unlessBitbucketUnavailable } from "./forge-unavailable";

export interface PipelinesJson {
  branch: string;
  commit: string;
  /** Whether the branch head has a bitbucket-pipelines.yml. */
  file: "present" | "missing" | "broken";
  /** What is wrong with the file, one `bitbucket-pipelines.yml:line:col: …` per problem, when it is broken. */
  errors: string[];
  /** The pipeline a push to the branch runs (`branches: main`, `default`), or null when none matches. */
  branchPipeline: string | null;
  /** The custom pipelines, in file order, with the variables each asks for. */
  custom: { name: string; variables: CustomVariable[] }[];
}

/**
 * GET /api/applications/:id/pipelines?branch= — what "Build now" offers for a branch (default: the main branch): the
 * pipeline the branch runs, and the custom pipelines with their variables, defaults and allowed values, read from
 * bitbucket-pipelines.yml at the branch head. 404 when Bitbucket does not know the branch; 503 when it cannot answer.
 */
export function applicationPipelinesGet(ctx: EngineContext) {
  return async (req: Request, res: Response) => {
    const tenant = tenantOf(res);
    const app = await findApplication(ctx.models, tenant.id, req.params.id);
    const raw = req.query.branch;
    const branch = raw === undefined || raw === "" ? app.mainBranch : raw;
    if (branch === null) throw badRequest("give the branch (?branch=): the repository's main branch is not known yet");
    if (!isSafeRefName(branch)) throw badRequest("branch must be a branch name git accepts");
    const forge = ctx.forgeFor(tenant);
    const commit = await unlessBitbucketUnavailable(() => forge.resolveCommit(tenant, app.repository, branch));
    if (!commit) throw notFound(`Bitbucket does not know branch "${branch}" in ${app.repository}`);
    const text = await unlessBitbucketUnavailable(() => forge.readFile(tenant, app.repository, commit, DEFAULT_PIPELINE_FILE));
    const body: PipelinesJson = { branch, commit, file: "missing", errors: [], branchPipeline: null, custom: [] };
    if (text !== null) {
      // A stranger's file: read off the event loop, within limits and a time budget.
      const checked = await ctx.pipelineFiles.check({ text, triggers: [{ kind: "branch", branch }], listCustom: true });
      if (!checked.ok) {
        body.file = "broken";
        body.errors = checked.errors.map((d) => formatDiagnostic(d));
      } else {
        body.file = "present";
        body.branchPipeline = checked.selections[0]?.name ?? null;
        body.custom = checked.custom;
      }
    }
    res.setHeader("Cache-Control", "no-store");
    res.json(body);
  };
}
