import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "../log/logger";
import { HttpError } from "./http-error";
import { requestLog } from "./request-id";

/** 404 for anything no route answered, as JSON. */
export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ error: `no route for ${req.method} ${req.path}` });
};

/** The central error handler: HttpError → its status and message; body-parser errors → 400/413; anything else → 500. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      res.status(err.status).json({ error: err.message });
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === "entity.too.large") {
      res.status(413).json({ error: "request body is too large" });
      return;
    }
    if (e.type === "entity.parse.failed") {
      res.status(400).json({ error: `malformed JSON: ${e.message ?? "could not parse the body"}` });
      return;
    }
    if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: e.message ?? "bad request" });
      return;
    }
    requestLog(res, log).error("unhandled error", { method: req.method, path: req.path, err });
    res.status(500).json({ error: "internal error" });
  };
}
