import { createHash } from "node:crypto";
import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import { isSafeRefName } from "../../forges/events";
import { notFound } from "../../http/http-error";
import { badgeBuild } from "./badge-build";
import { badgeStatus, badgeSvg } from "./badge-svg";

/** `/badges/<token>/<branch>.svg`: the token is 32 random bytes in base64url; the branch may contain slashes. */
export const BADGE_PATH = /^\/badges\/([A-Za-z0-9_-]{43})\/(.+)\.svg$/;

/**
 * Badges are cached briefly (a README shows a state at most this old) and revalidated cheaply with the ETag; the
 * builds page asks with `?v=<build>` so that a newly finished build is a new address it fetches at once.
 */
const CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=60";

/**
 * GET /badges/:token/:branch.svg — the status badge of an application's branch: the state of its newest finished
 * build of the branch's own pipeline (see badgeBuild). No authentication: the unguessable token in the URL is the only key, and it shows nothing but that state.
 * An unknown token, or an application whose workspace uninstalled Pipelines, is a 404.
 */
export function badgeGet(models: Models) {
  return async (req: Request, res: Response) => {
    const token = req.params[0];
    const branch = req.params[1];
    const app = await models.Application.findOne({ where: { badgeToken: token }, attributes: ["id", "tenantId"] });
    const tenant = app && (await models.Tenant.findOne({ where: { id: app.tenantId }, attributes: ["status"] }));
    if (!app || tenant?.status !== "active" || !isSafeRefName(branch)) throw notFound("no such badge");
    const { build, running } = await badgeBuild(models, app.id, branch);
    const svg = badgeSvg("pipelines", badgeStatus(build?.state ?? (running ? "RUNNING" : null)));
    res.setHeader("Content-Type", "image/svg+xml; charset=utf-8");
    res.setHeader("Cache-Control", CACHE_CONTROL);
    res.setHeader("ETag", `"${createHash("sha256").update(svg).digest("base64url").slice(0, 27)}"`);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    res.send(svg);
  };
}
