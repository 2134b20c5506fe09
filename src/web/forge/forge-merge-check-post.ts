import type { Request, RequestHandler, Response } from "express";
import type { Models } from "../../db/models";
import { bracedUuid } from "../../forges/cloud-forge-app/fit/fit-claims";
import { forgeCaller } from "../../forges/cloud-forge-app/forge-caller";
import type { ForgeFor } from "../../forges/forge-for";
import { forbidden, badRequest } from "../../http/http-error";
import { verifyForgeCall, type ForgeCallDeps } from "../../intake/forge-call";

export interface MergeCheckDeps extends ForgeCallDeps {
  forgeFor: ForgeFor;
}

interface MergeCheckResult {
  success: boolean;
  message: string;
}

/**
 * POST /forge/merge-check — the custom merge check (bitbucket:mergeCheck): "the latest build of the source commit
 * passed". Forge sends the workspace, repository and pull request id; Pipelines asks Bitbucket for the pull request's
 * source commit (with the app's system token), resolves it to the full hash and answers `{success, message}` from the
 * newest build of that commit. The workspace must be the installation's own (403 otherwise).
 */
export function forgeMergeCheckPost(deps: MergeCheckDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const { tenant, installation } = await verifyForgeCall(req, deps);
    const body = (req.body && typeof req.body === "object" ? req.body : {}) as Record<string, Record<string, unknown> | undefined>;
    const workspace = bracedUuid(body.workspace?.uuid);
    const repository = bracedUuid(body.repository?.uuid);
    const prId = body.pullrequest?.id;
    if (!workspace || !repository || !Number.isSafeInteger(prId)) throw badRequest("a merge check names workspace.uuid, repository.uuid and pullrequest.id");
    if (workspace !== installation.workspaceUuid) throw forbidden("this merge check is for another workspace than the installation's");
    res.status(200).json(await latestBuildPassed(deps, deps.models, tenant, repository, prId as number));
  };
}

async function latestBuildPassed(deps: MergeCheckDeps, models: Models, tenant: Parameters<typeof forgeCaller>[1], repositoryUuid: string, prId: number): Promise<MergeCheckResult> {
  const app = await models.Application.findOne({ where: { tenantId: tenant.id, repositoryUuid } });
  if (!app) return { success: false, message: "This repository is not built by Pipelines (create its application on the repository page)." };
  let source: string | null;
  try {
    const res = await forgeCaller(models, tenant).request("GET", `/2.0/repositories/${encodeURIComponent(app.repository.split("/")[0])}/${encodeURIComponent(app.repository.split("/")[1])}/pullrequests/${prId}`);
    if (res.status !== 200) return { success: false, message: `Bitbucket answered HTTP ${res.status} when Pipelines read pull request #${prId}.` };
    const hash = res.json<{ source?: { commit?: { hash?: unknown } } }>().source?.commit?.hash;
    source = typeof hash === "string" ? await deps.forgeFor(tenant).resolveCommit(tenant, app.repository, hash) : null;
  } catch (err) {
    return { success: false, message: `Pipelines could not ask Bitbucket about pull request #${prId}: ${(err as Error).message}` };
  }
  if (!source) return { success: false, message: `Pipelines could not find the source commit of pull request #${prId}.` };
  const build = await models.Build.findOne({ where: { applicationId: app.id, commit: source }, order: [["id", "DESC"]], attributes: ["id", "number", "state", "pipelineName"] });
  const short = source.slice(0, 12);
  if (!build) return { success: false, message: `No build of ${short} yet.` };
  if (build.state === "SUCCESSFUL") return { success: true, message: `Build #${build.number} of ${short} passed.` };
  return { success: false, message: `The latest build of ${short}, #${build.number}, is ${build.state.toLowerCase().replace(/_/g, " ")}.` };
}
