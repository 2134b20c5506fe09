import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import { badRequest, notFound } from "../../http/http-error";
import { LOG_COMPLETE, timedLogPieces } from "../api/build-step-log-get";
import { findBuild, stepIndexParam } from "../api/find-build";
import { tenantOf } from "../../http/tenant-auth";
import { LogLines } from "../pages/log-lines";

const READ_BYTES = 256 * 1024;

/**
 * GET /forge/ui/api/builds/:id/steps/:n/log/events?from= — the live log for the Forge app's page, which cannot hold
 * an event stream open (invokeRemote answers once): what the server-sent events of …/log/stream would send next from
 * byte `from`, as one JSON answer the page polls — whole lines as HTML with `next` (the offset just past them),
 * `reset` when the step started over, and `end` with the step's state once everything was sent.
 */
export function forgeLogEventsGet(models: Models) {
  return async (req: Request, res: Response) => {
    const { build } = await findBuild(models, tenantOf(res).id, req.params.id);
    const index = stepIndexParam(req.params.n);
    const rawFrom = typeof req.query.from === "string" && req.query.from !== "" ? req.query.from : "0";
    if (!/^\d{1,15}$/.test(rawFrom)) throw badRequest("from must be a byte offset this log gave");
    const from = Number(rawFrom);
    const step = await models.Step.findOne({ where: { buildId: build.id, index }, attributes: ["id", "state", "logBytes"] });
    if (!step) throw notFound(`build #${build.number} has no step ${index}`);
    if (step.logBytes < from) {
      res.json({ reset: true, next: 0, html: "", end: null });
      return;
    }
    const complete = LOG_COMPLETE.includes(step.state);
    const end = Math.min(step.logBytes, from + READ_BYTES);
    const pieces: Buffer[] = [];
    const lines = new LogLines(from);
    if (end > from) {
      for await (const piece of timedLogPieces(models, step.id, from, end - 1)) {
        lines.mark(piece);
        pieces.push(piece.data);
      }
    }
    let bytes = Buffer.concat(pieces);
    // Whole lines only, unless the step has finished and this is the rest of its log.
    const last = end === step.logBytes && complete;
    if (!last) {
      const nl = bytes.lastIndexOf(0x0a);
      bytes = bytes.subarray(0, nl + 1);
    }
    const html = lines.render(bytes, from);
    const next = from + bytes.length;
    res.setHeader("Cache-Control", "no-store");
    res.json({ reset: false, next, html, end: last && next === step.logBytes ? { state: step.state } : null });
  };
}
