import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import type { StepSignals } from "../../builds/step-signals";
import { tenantOf } from "../../http/tenant-auth";
import { badRequest, notFound } from "../../http/http-error";
import { LogLines } from "../pages/log-lines";
import { LOG_COMPLETE, timedLogPieces } from "./build-step-log-get";
import { findBuild, stepIndexParam } from "./find-build";

export interface LogStreamOptions {
  /** How long to wait for a wake-up before looking at the database again (a runner may report to another process). */
  pollMs?: number;
  /** A comment is sent after this much silence, so proxies keep the connection. */
  keepAliveMs?: number;
  /** The stream ends after this long (the browser reconnects with Last-Event-ID). */
  maxLifetimeMs?: number;
}

/** Bytes of log read per round; an event carries at most this much. */
const READ_BYTES = 256 * 1024;
/** A line longer than this is cut (at a character boundary) rather than held back. */
const MAX_LINE_BYTES = 64 * 1024;

/** Where the client's copy of the log ends: `Last-Event-ID` (a reconnect), else `?from=`, else 0. */
function resumeOffset(req: Request): number {
  const raw = req.get("Last-Event-ID") ?? (typeof req.query.from === "string" ? req.query.from : undefined) ?? "0";
  if (!/^\d{1,15}$/.test(raw.trim())) throw badRequest("Last-Event-ID (or from) must be a byte offset this stream gave");
  return Number(raw.trim());
}

/** Length of the longest prefix of `buf` that does not end inside a UTF-8 character. */
function utf8Boundary(buf: Buffer, end: number): number {
  let i = end;
  // Step back over continuation bytes (10xxxxxx) to the lead byte, and cut before it unless its character is whole.
  let back = 0;
  while (i > 0 && back < 4 && (buf[i - 1] & 0xc0) === 0x80) {
    i--;
    back++;
  }
  if (i === 0) return end;
  const lead = buf[i - 1];
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return need === back + 1 ? end : i - 1;
}

/**
 * GET /api/builds/:id/steps/:n/log/stream — the step's log as server-sent events, from where the client is (its
 * `Last-Event-ID`) to the end of the step:
 * - each message is whole lines, as HTML (`{"html": …}`, colours as spans, everything escaped), and its `id` is the
 *   byte offset just past them — a reconnect resumes there, so no line is sent twice; a partial last line waits
 *   for its newline (or for the step to end);
 * - `event: reset` when the step started over (a lost runner's step is run again): drop what was shown;
 * - `event: end` with the step's state once the step has finished and everything was sent; then the stream closes.
 * Wakes when this process's runners add to the log, and looks at the database every `pollMs` otherwise.
 *
 * EventSource cannot send an Authorization header: this is the one API route whose context token may come in the
 * query (`?jwt=`). Request logs record paths only, never the query.
 */
export function buildStepLogStreamGet(models: Models, signals: StepSignals, opts: LogStreamOptions = {}) {
  const pollMs = opts.pollMs ?? 1000;
  const keepAliveMs = opts.keepAliveMs ?? 15_000;
  const maxLifetimeMs = opts.maxLifetimeMs ?? 10 * 60_000;
  return async (req: Request, res: Response) => {
    const { build } = await findBuild(models, tenantOf(res).id, req.params.id);
    const index = stepIndexParam(req.params.n);
    const exists = await models.Step.findOne({ where: { buildId: build.id, index }, attributes: ["id"] });
    if (!exists) throw notFound(`build #${build.number} has no step ${index}`);
    let offset = resumeOffset(req);

    res.status(200);
    res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("X-Accel-Buffering", "no");
    res.flushHeaders();

    const stop = new AbortController();
    const server = (req.socket as { server?: { listening?: boolean } }).server;
    res.on("close", () => stop.abort());
    // The service is shutting down (no longer listening): end now rather than hold up its stop.
    const watch = setInterval(() => {
      if (server && server.listening === false) stop.abort();
    }, 250);
    const lifetime = setTimeout(() => stop.abort(), maxLifetimeMs);
    let lastWrite = Date.now();
    const write = async (text: string) => {
      lastWrite = Date.now();
      if (!res.write(text)) await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    };

    try {
      await write("retry: 2000\n\n");
      let lines = new LogLines(offset);
      let pending = Buffer.alloc(0);
      const sendLines = async (bytes: Buffer) => {
        if (bytes.length === 0) return;
        const html = lines.render(bytes, offset);
        offset += bytes.length;
        await write(`id: ${offset}\ndata: ${JSON.stringify({ html })}\n\n`);
      };
      while (!stop.signal.aborted) {
        const step = await models.Step.findOne({ where: { buildId: build.id, index }, attributes: ["id", "state", "logBytes"] });
        if (!step) break;
        const have = offset + pending.length;
        if (step.logBytes < have) {
          // The log was cleared: the step is being run again from the start.
          offset = 0;
          pending = Buffer.alloc(0);
          lines = new LogLines(0);
          await write(`event: reset\nid: 0\ndata: {}\n\n`);
          continue;
        }
        const complete = LOG_COMPLETE.includes(step.state);
        if (step.logBytes > have) {
          const end = Math.min(step.logBytes, have + READ_BYTES) - 1;
          const pieces: Buffer[] = [pending];
          for await (const piece of timedLogPieces(models, step.id, have, end)) {
            lines.mark(piece);
            pieces.push(piece.data);
          }
          pending = Buffer.concat(pieces);
          const nl = pending.lastIndexOf(0x0a);
          let cut = nl + 1;
          if (cut === 0 && pending.length >= MAX_LINE_BYTES) cut = utf8Boundary(pending, pending.length);
          if (cut > 0) {
            const out = pending.subarray(0, cut);
            pending = pending.subarray(cut);
            await sendLines(out);
          }
          if (end + 1 < step.logBytes) continue;
        }
        if (complete) {
          await sendLines(pending);
          await write(`event: end\ndata: ${JSON.stringify({ state: step.state })}\n\n`);
          break;
        }
        await signals.wait(build.id, index, pollMs, stop.signal);
        if (Date.now() - lastWrite >= keepAliveMs) await write(": keep-alive\n\n");
      }
    } finally {
      clearInterval(watch);
      clearTimeout(lifetime);
      res.end();
    }
  };
}
