import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Application, Models } from "../../db/models";
import { bracedUuid } from "../../forges/cloud-forge-app/fit/fit-claims";
import { forbidden } from "../../http/http-error";
import { tenantOf } from "../../http/tenant-auth";
import { forgePageContextOf } from "./forge-ui-auth";

const ID = /^\d{1,15}$/;

/** Whether `app` is the application of the repository the Forge page is shown for (the invocation token names it). */
function isPageRepository(res: Response, app: Application): boolean {
  const page = forgePageContextOf(res);
  return app.repositoryUuid ? bracedUuid(app.repositoryUuid) === page.repositoryUuid : app.repository === page.fullName;
}

function guard(find: (req: Request, res: Response) => Promise<Application | null>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    find(req, res)
      .then((app) => {
        // One the tenant does not have is left to the route: a 404, as for any door.
        if (app && !isPageRepository(res, app)) throw forbidden("a page may only ask about the repository it is shown for");
        next();
      })
      .catch(next);
  };
}

/**
 * Behind the Forge door the invocation token names the repository the page is shown for, so a call about an
 * application or a build of another repository of the same workspace is a 403 (another workspace's are a 404: the
 * tenant has none such). Mounted on `/api/applications/:id` and `/api/builds/:id`.
 */
export function forgePageRepository(models: Models) {
  return {
    application: guard(async (req, res) => (ID.test(req.params.id) ? models.Application.findOne({ where: { id: Number(req.params.id), tenantId: tenantOf(res).id } }) : null)),
    build: guard(async (req, res) => {
      if (!ID.test(req.params.id)) return null;
      const build = await models.Build.findOne({ where: { id: Number(req.params.id), tenantId: tenantOf(res).id }, attributes: ["id", "applicationId"] });
      return build ? models.Application.findOne({ where: { id: build.applicationId, tenantId: tenantOf(res).id } }) : null;
    }),
  };
}
