import express, { Router, type Request, type Response } from "express";
import { UniqueConstraintError } from "sequelize";
import type { Models } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";
import { asyncHandler } from "../../http/async-handler";
import { HttpError, badRequest, conflict, notFound } from "../../http/http-error";
import { tenantOf } from "../../http/tenant-auth";
import type { CloudApiDeps } from "./cloud-api-deps";
import { fetchRepository } from "../../forges/cloud-connect/fetch-repository";
import { applicationJson } from "../../applications/application-json";
import { findApplication } from "../../applications/find-application";
import { parseApplicationPatch, REPOSITORY_FULL_NAME, VARIABLE_NAME } from "../../applications/application-input";

/**
 * /api/applications — a repository becomes an application (auto-build and auto-cancel on). Mounted behind the
 * context-token check: every route is scoped to the caller's tenant.
 */
export function applicationsRoutes(models: Models, cloud: CloudApiDeps): Router {
  const r = Router();
  r.use(express.json({ limit: "256kb" }));

  r.post(
    "/",
    asyncHandler(async (req: Request, res: Response) => {
      const tenant = tenantOf(res);
      const repository = (req.body as { repository?: unknown })?.repository;
      if (typeof repository !== "string" || !REPOSITORY_FULL_NAME.test(repository)) {
        throw badRequest('repository must be "<workspace>/<repo_slug>"');
      }
      if (await models.Application.findOne({ where: { tenantId: tenant.id, repository } })) throw conflict(`${repository} is already an application`);
      const info = await fetchRepository(cloud.callerFor(tenant), repository);
      if (!info) throw notFound(`Bitbucket does not know the repository ${repository} (or Pipelines may not see it)`);
      try {
        const app = await models.Application.create({ tenantId: tenant.id, repository: info.fullName, repositoryUuid: info.uuid, mainBranch: info.mainBranch, autoBuild: true, autoCancel: true });
        if (cloud.autoBuildChanged) {
          try {
            await cloud.autoBuildChanged(tenant, app, true);
          } catch (err) {
            await app.destroy();
            throw new HttpError(502, (err as Error).message);
          }
        }
        res.status(201).json(applicationJson(app));
      } catch (err) {
        if (err instanceof UniqueConstraintError) throw conflict(`${repository} is already an application`);
        throw err;
      }
    }),
  );

  r.get(
    "/",
    asyncHandler(async (_req, res) => {
      const apps = await models.Application.findAll({ where: { tenantId: tenantOf(res).id }, order: [["repository", "ASC"]] });
      res.json({ values: apps.map(applicationJson) });
    }),
  );

  r.get(
    "/:id",
    asyncHandler(async (req, res) => {
      res.json(applicationJson(await findApplication(models, tenantOf(res).id, req.params.id)));
    }),
  );

  r.patch(
    "/:id",
    asyncHandler(async (req, res) => {
      const app = await findApplication(models, tenantOf(res).id, req.params.id);
      const patch = parseApplicationPatch(req.body);
      const wasOn = app.autoBuild;
      await app.update(patch);
      if (cloud.autoBuildChanged && patch.autoBuild !== undefined && patch.autoBuild !== wasOn) {
        try {
          await cloud.autoBuildChanged(tenantOf(res), app, patch.autoBuild);
        } catch (err) {
          await app.update({ autoBuild: wasOn });
          throw new HttpError(502, (err as Error).message);
        }
      }
      res.json(applicationJson(app));
    }),
  );

  r.delete(
    "/:id",
    asyncHandler(async (req, res) => {
      const app = await findApplication(models, tenantOf(res).id, req.params.id);
      if (cloud.autoBuildChanged) await cloud.autoBuildChanged(tenantOf(res), app, false);
      await app.destroy();
      res.status(204).end();
    }),
  );

  r.get(
    "/:id/variables",
    asyncHandler(async (req, res) => {
      const app = await findApplication(models, tenantOf(res).id, req.params.id);
      const vars = await models.ApplicationVariable.findAll({ where: { applicationId: app.id, tenantId: app.tenantId }, order: [["name", "ASC"]] });
      // Secured values are write-only: their value never leaves the service.
      res.json({ values: vars.map((v) => ({ name: v.name, secured: v.secured, value: v.secured ? null : revealSecret(v, "value") })) });
    }),
  );

  r.put(
    "/:id/variables/:name",
    asyncHandler(async (req, res) => {
      const app = await findApplication(models, tenantOf(res).id, req.params.id);
      const name = req.params.name;
      if (!VARIABLE_NAME.test(name) || name.startsWith("BITBUCKET_")) throw badRequest("a variable name is letters, digits and _, not starting with a digit or BITBUCKET_");
      const { value, secured } = (req.body ?? {}) as { value?: unknown; secured?: unknown };
      if (typeof value !== "string" || value.length > 32 * 1024) throw badRequest("value must be a string of at most 32 KiB");
      if (secured !== undefined && typeof secured !== "boolean") throw badRequest("secured must be true or false");
      const existing = await models.ApplicationVariable.findOne({ where: { applicationId: app.id, name } });
      if (existing) await existing.update({ value, secured: secured ?? existing.secured });
      else await models.ApplicationVariable.create({ tenantId: app.tenantId, applicationId: app.id, name, value, secured: secured ?? false });
      res.status(204).end();
    }),
  );

  r.delete(
    "/:id/variables/:name",
    asyncHandler(async (req, res) => {
      const app = await findApplication(models, tenantOf(res).id, req.params.id);
      const n = await models.ApplicationVariable.destroy({ where: { applicationId: app.id, name: req.params.name } });
      if (!n) throw notFound(`no variable ${req.params.name}`);
      res.status(204).end();
    }),
  );
  return r;
}
