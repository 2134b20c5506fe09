import type { Request, Response } from "express";
import { pipeline } from "node:stream/promises";
import type { EngineContext } from "../../builds/engine-context";
import { notFound } from "../../http/http-error";
import { findBuild } from "./find-build";
import { tenantOf } from "../../http/tenant-auth";

/** One artifact as the API shows it. */
export interface ArtifactJson {
  id: number;
  stepIndex: number;
  name: string;
  type: string;
  size: number;
  createdAt: Date;
  /** When it is removed (PIPELINES_ARTIFACT_EXPIRY_DAYS after it was made). */
  expiresAt: Date;
}

/** `acme-app-build-12-step-1-dist.tar.gz`: only characters every file system takes. */
export function artifactFileName(repository: string, number: number, stepIndex: number, name: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60);
  return [safe(repository), `build-${number}`, `step-${stepIndex + 1}`, safe(name)].filter(Boolean).join("-") + ".tar.gz";
}

/** GET /api/builds/:id/artifacts — `{artifacts: ArtifactJson[]}`, every step's, in step order. Another tenant's build is a 404. */
export function buildArtifactsGet(ctx: EngineContext) {
  return async (req: Request, res: Response) => {
    const { build } = await findBuild(ctx.models, tenantOf(res).id, req.params.id);
    const days = ctx.artifacts.settings.artifactExpiryDays;
    const rows = await ctx.artifacts.list(build.tenantId, [build.id]);
    const artifacts: ArtifactJson[] = rows.map((a) => ({ id: a.id, stepIndex: a.stepIndex, name: a.name, type: a.type, size: a.size, createdAt: a.createdAt, expiresAt: new Date(a.createdAt.getTime() + days * 86_400_000) }));
    res.set("Cache-Control", "no-store").json({ artifacts });
  };
}

/**
 * GET /api/builds/:id/artifacts/:artifactId/download — the artifact's tar.gz as a file, streamed. Found only among
 * the artifacts of this tenant's build: another tenant's (or another build's) artifact is a 404.
 */
export function buildArtifactDownloadGet(ctx: EngineContext) {
  return async (req: Request, res: Response) => {
    const { build, app } = await findBuild(ctx.models, tenantOf(res).id, req.params.id);
    const id = /^\d{1,15}$/.test(req.params.artifactId) ? Number(req.params.artifactId) : 0;
    const artifact = id > 0 ? await ctx.artifacts.find(build.tenantId, [build.id], id) : null;
    const body = artifact && (await ctx.artifacts.open(artifact));
    if (!artifact || !body) throw notFound(`build #${build.number} has no artifact ${req.params.artifactId}`);
    res.setHeader("Content-Type", "application/gzip");
    res.setHeader("Content-Length", String(artifact.size));
    res.setHeader("Content-Disposition", `attachment; filename="${artifactFileName(app.repository, build.number, artifact.stepIndex, artifact.name)}"`);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Cache-Control", "no-store");
    await pipeline(body, res);
  };
}
