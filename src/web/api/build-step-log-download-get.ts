import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import { notFound } from "../../http/http-error";
import { logPieces } from "./build-step-log-get";
import { findBuild, stepIndexParam } from "./find-build";
import { tenantOf } from "../../http/tenant-auth";

/** The runner's last line when a step printed more than the log cap (log-sink.ts). */
const TRUNCATED = "[pipelines] log truncated: ";

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / 1024 / 1024) * 10) / 10} MiB`;
  if (n >= 1024) return `${Math.round((n / 1024) * 10) / 10} KiB`;
  return `${n} bytes`;
}

/** `acme-app-build-12-step-2-test.log`: only characters every file system takes. */
function fileName(repository: string, number: number, index: number, name: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60);
  return [safe(repository), `build-${number}`, `step-${index + 1}`, safe(name)].filter(Boolean).join("-") + ".log";
}

/**
 * GET /api/builds/:id/steps/:n/log/download — a step's whole stored log as a file (`Content-Disposition:
 * attachment`). When the step printed more than the log cap, the stored part ends with the runner's "log truncated"
 * line and the file gets a last note saying where it was cut and that the rest was counted, not stored.
 */
export function buildStepLogDownloadGet(models: Models, logCapBytes: number) {
  return async (req: Request, res: Response) => {
    const { build, app } = await findBuild(models, tenantOf(res).id, req.params.id);
    const index = stepIndexParam(req.params.n);
    const step = await models.Step.findOne({ where: { buildId: build.id, index }, attributes: ["id", "name", "logBytes"] });
    if (!step) throw notFound(`build #${build.number} has no step ${index}`);
    const chunks: Buffer[] = [];
    for await (const piece of logPieces(models, step.id, 0, step.logBytes - 1)) chunks.push(piece);
    let body = Buffer.concat(chunks);
    const tail = body.subarray(Math.max(0, body.length - 512)).toString("utf8");
    if (tail.includes(TRUNCATED) || step.logBytes > logCapBytes) {
      const note = `\n--- Pipelines: this log was cut at ${formatBytes(logCapBytes)} (the service's PIPELINES_LOG_CAP_BYTES): the file holds the first ${formatBytes(step.logBytes)} the step printed; everything it printed after that was counted but not stored.\n`;
      body = Buffer.concat([body, Buffer.from(note)]);
    }
    res.setHeader("Content-Type", "text/plain; charset=utf-8");
    res.setHeader("Content-Disposition", `attachment; filename="${fileName(app.repository, build.number, index, step.name)}"`);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Cache-Control", "no-store");
    res.send(body);
  };
}
