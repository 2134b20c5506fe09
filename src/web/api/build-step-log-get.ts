import type { Request, Response } from "express";
import { Op } from "sequelize";
import type { Models } from "../../db/models";
import type { StepState } from "../../db/models/step";
import { tenantOf } from "../../http/tenant-auth";
import { HttpError, notFound } from "../../http/http-error";
import { parseByteRange } from "./byte-range";
import { findBuild, stepIndexParam } from "./find-build";
import type { TimedPiece } from "../pages/log-lines";

/** A step in one of these states writes no more log. */
export const LOG_COMPLETE: readonly StepState[] = ["SUCCESSFUL", "FAILED", "STOPPED", "TIMED_OUT", "SKIPPED", "NOT_RUN", "REFUSED"];
/** Chunks read per query while streaming: a chunk holds at most 64 KiB, so a batch at most 512 KiB. */
const BATCH = 8;

/** Resolves when `res` can take more, or is closed (the client went away). */
function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/**
 * Bytes `start`..`end` (both included) of a step's log, a piece per stored chunk: only the chunks that overlap them
 * are read, a batch at a time, so a small range of an 8 MB log reads a chunk or two. Chunks are contiguous (each
 * starts where the previous one ended), so the first is the last one starting at or before `start`.
 */
export async function* logPieces(models: Models, stepId: number, start: number, end: number): AsyncGenerator<Buffer> {
  for await (const piece of timedLogPieces(models, stepId, start, end)) yield piece.data;
}

/** The same pieces with their byte offset in the log and the time their chunk reached the server. */
export async function* timedLogPieces(models: Models, stepId: number, start: number, end: number): AsyncGenerator<TimedPiece> {
  const first = await models.LogChunk.findOne({ where: { stepId, offset: { [Op.lte]: start } }, order: [["offset", "DESC"]], attributes: ["offset"] });
  let from = first?.offset ?? 0;
  for (;;) {
    const chunks = await models.LogChunk.findAll({ where: { stepId, offset: { [Op.gte]: from, [Op.lte]: end } }, order: [["offset", "ASC"]], limit: BATCH });
    for (const c of chunks) {
      const skip = Math.max(0, start - c.offset);
      const piece = c.data.subarray(skip, Math.max(0, end + 1 - c.offset));
      if (piece.length > 0) yield { data: piece, start: c.offset + skip, at: c.createdAt ? new Date(c.createdAt).getTime() : null };
    }
    if (chunks.length < BATCH) return;
    from = chunks[chunks.length - 1].offset + 1;
  }
}

/** Writes bytes `start`..`end` (both included) of a step's log to `res`, waiting whenever it is full. */
async function writeLogRange(models: Models, stepId: number, start: number, end: number, res: Response): Promise<void> {
  for await (const piece of logPieces(models, stepId, start, end)) {
    if (res.destroyed) return;
    if (!res.write(piece)) await drained(res);
  }
}

/**
 * GET /api/builds/:id/steps/:n/log — the step's log as UTF-8 text, as stored (already masked). `Range: bytes=a-b`,
 * `bytes=a-` or `bytes=-n` answer 206 with Content-Range; a range past the end answers 416 (what a live view
 * polling `bytes=<what it has>-` gets until more arrives). `X-Log-Complete` says whether the step has finished,
 * i.e. whether more may come.
 */
export function buildStepLogGet(models: Models) {
  return async (req: Request, res: Response) => {
    const { build } = await findBuild(models, tenantOf(res).id, req.params.id);
    const index = stepIndexParam(req.params.n);
    const step = await models.Step.findOne({ where: { buildId: build.id, index }, attributes: ["id", "state", "logBytes"] });
    if (!step) throw notFound(`build #${build.number} has no step ${index}`);
    const total = step.logBytes;
    const complete = String(LOG_COMPLETE.includes(step.state));
    const range = parseByteRange(req.get("Range"), total);
    if (range.kind === "unsatisfiable") throw new HttpError(416, range.reason, { "Content-Range": `bytes */${total}`, "X-Log-Complete": complete });

    res.setHeader("Content-Type", "text/plain; charset=utf-8");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Accept-Ranges", "bytes");
    res.setHeader("X-Log-Complete", complete);
    const [start, end] = range.kind === "range" ? [range.start, range.end] : [0, total - 1];
    if (range.kind === "range") {
      res.status(206);
      res.setHeader("Content-Range", `bytes ${start}-${end}/${total}`);
    }
    res.setHeader("Content-Length", String(Math.max(0, end - start + 1)));
    if (req.method === "HEAD" || end < start) {
      res.end();
      return;
    }
    await writeLogRange(models, step.id, start, end, res);
    res.end();
  };
}
