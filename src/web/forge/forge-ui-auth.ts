import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Tenant } from "../../db/models";
import { bracedUuid } from "../../forges/cloud-forge-app/fit/fit-claims";
import { fetchRepository } from "../../forges/cloud-connect/fetch-repository";
import { forgeCaller } from "../../forges/cloud-forge-app/forge-caller";
import { installationActive } from "../../forges/cloud-forge-app/forge-installations";
import { forbidden } from "../../http/http-error";
import { verifyForgeCall, type ForgeCallDeps } from "../../intake/forge-call";
import { setTenantAuth } from "../../http/tenant-auth";

/** What the Forge door found out about a page call: the repository of the token, with its full name. */
export interface ForgePageContext {
  fullName: string;
  repositoryUuid: string;
  installation: { state: string; reason: string | null };
}

export function forgePageContextOf(res: Response): ForgePageContext {
  return res.locals.forgePage as ForgePageContext;
}

/**
 * The door of the Forge app's pages (`invokeRemote` → /forge/ui/…): a verified Forge invocation token (401), whose
 * contextual claims decide what the call may ask about —
 * 1. the token's workspace (`context.workspaceId`) must be the installation's (403 otherwise);
 * 2. the token must name the repository the page is shown for (`context.extension.repository.uuid`); a call that
 *    asks about another one (`repoUuid`, `repoPath`, or the repository of a new application) is a 403;
 * 3. the repository's full name comes from its application, else from Bitbucket (with the app's system token).
 * Then it sets the same `tenantAuth` the other doors set, so the JSON API and the pages answer exactly as they do
 * there (another tenant's rows are 404).
 */
export function forgeUiAuth(deps: ForgeCallDeps): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    (async () => {
      const { tenant, installation, claims } = await verifyForgeCall(req, deps);
      if (claims.contextWorkspaceUuid !== installation.workspaceUuid) throw forbidden("this call is for another workspace than the installation's");
      const repositoryUuid = claims.contextRepositoryUuid;
      if (!repositoryUuid) throw forbidden("the invocation token names no repository");
      const asked = req.query.repoUuid;
      if (asked !== undefined && bracedUuid(asked) !== repositoryUuid) throw forbidden("a page may only ask about the repository it is shown for");
      const fullName = await repositoryName(deps, tenant, installation.workspaceUuid, repositoryUuid);
      const askedPath = req.query.repoPath;
      if (askedPath !== undefined && askedPath !== fullName) throw forbidden("a page may only ask about the repository it is shown for");
      if (req.method === "POST" && req.path === "/api/applications") {
        const body = req.body as { repository?: unknown } | undefined;
        if (body?.repository !== fullName) throw forbidden(`a page of ${fullName} may only create the application of ${fullName}`);
      }
      req.query.repoPath = fullName;
      req.query.repoUuid = repositoryUuid;
      if (!tenant.principalName) await tenant.update({ principalName: fullName.split("/")[0] });
      // Too long without the hourly tick (or refused by Bitbucket for days): the page says so.
      if (installation.state === "active") await installationActive(deps.models, tenant);
      await installation.reload();
      res.locals.forgePage = { fullName, repositoryUuid, installation: { state: installation.state, reason: installation.reason } } satisfies ForgePageContext;
      setTenantAuth(res, { tenant, user: claims.principal, via: "forge" });
    })().then(() => next(), next);
  };
}

async function repositoryName(deps: ForgeCallDeps, tenant: Tenant, workspaceUuid: string, repositoryUuid: string): Promise<string> {
  const app = await deps.models.Application.findOne({ where: { tenantId: tenant.id, repositoryUuid }, attributes: ["repository"] });
  if (app) return app.repository;
  const info = await fetchRepository(forgeCaller(deps.models, tenant), `${workspaceUuid}/${repositoryUuid}`);
  if (!info || bracedUuid(info.uuid) !== repositoryUuid) throw forbidden("Bitbucket does not show this repository to the app");
  return info.fullName;
}
