import type { Request, Response } from "express";
import { Op } from "sequelize";
import type { Config } from "../../config/load-config";
import type { Models } from "../../db/models";
import { setPageHeaders } from "./page-headers";

/** Where a development install of the Bitbucket stand-in lives: on this machine. */
const LOCAL = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

/**
 * GET / — what this service is and where to go next: install it into Bitbucket Cloud (the Connect descriptor), connect
 * with the OAuth consumer (or how to set one up), Bitbucket Server on the command line, the Forge app; in development,
 * how to try it with the Bitbucket stand-in, and links to the stand-in's repository pages it was installed from. Public:
 * it shows nothing of any workspace beyond those local stand-in links, and only in development.
 */
export function homeGet(config: Pick<Config, "baseUrl" | "mode" | "oauth" | "forgeAppId">, models: Models) {
  return async (_req: Request, res: Response) => {
    const development = config.mode === "development";
    let standins: { repository: string; url: string }[] = [];
    if (development) {
      const tenants = await models.Tenant.findAll({ where: { kind: "cloud-connect", status: "active" }, attributes: ["id", "baseUrl"], limit: 50 });
      const local = tenants.filter((t) => {
        try {
          return LOCAL.test(new URL(t.baseUrl).hostname);
        } catch {
          return false;
        }
      });
      const apps = local.length ? await models.Application.findAll({ where: { tenantId: { [Op.in]: local.map((t) => t.id) } }, attributes: ["tenantId", "repository"], limit: 10 }) : [];
      standins = apps.map((a) => ({ repository: a.repository, url: `${(local.find((t) => t.id === a.tenantId)?.baseUrl ?? "").replace(/\/+$/, "")}/${a.repository}` }));
    }
    setPageHeaders(res, null);
    res.render("home", {
      title: "Pipelines for Bitbucket",
      baseUrl: config.baseUrl,
      descriptorUrl: `${config.baseUrl}/atlassian-connect.json`,
      oauth: config.oauth !== null,
      forge: config.forgeAppId !== null,
      development,
      standins,
    });
  };
}
