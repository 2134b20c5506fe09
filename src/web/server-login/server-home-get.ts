import type { Request, Response } from "express";
import { Op } from "sequelize";
import type { Models } from "../../db/models";
import { esc, sendPage, signOutForm } from "./login-page";
import { grantCovers, grantedTenant } from "./server-grant";
import { pageGrant, tenantIdParam } from "./server-page-door";
import { serverBuildsPath } from "./server-paths";

/** GET /server/:tenantId — the signed-in Server user's home: the applications of repositories they can read. */
export function serverHomeGet(baseUrl: string, models: Models) {
  return async (req: Request, res: Response) => {
    const grant = await pageGrant(baseUrl, models, req, res);
    if (!grant) return;
    const tenant = await grantedTenant(models, grant, tenantIdParam(req.params.tenantId));
    const apps = (await models.Application.findAll({ where: { tenantId: tenant.id, repository: { [Op.ne]: "" } }, order: [["repository", "ASC"]] })).filter((a) => grantCovers(grant, a.repository));
    const base = baseUrl.replace(/\/+$/, "");
    const items = apps.map((a) => `<li><a data-testid="server-repository" href="${esc(base + serverBuildsPath(tenant.id, a.repository))}">${esc(a.repository)}</a></li>`);
    sendPage(
      res,
      baseUrl,
      200,
      `Pipelines on ${tenant.baseUrl}`,
      `<h1>Pipelines on ${esc(tenant.baseUrl)}</h1><p>Signed in as ${esc(grant.username)}.</p>` +
        (items.length ? `<ul>${items.join("")}</ul>` : "<p>No repository you can read has an application yet.</p>") +
        signOutForm(baseUrl),
    );
  };
}
