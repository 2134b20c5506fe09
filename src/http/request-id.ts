import { randomUUID } from "node:crypto";
import type { RequestHandler, Response } from "express";
import type { Logger } from "../log/logger";

/** An incoming id we keep: what proxies and Bitbucket Server send (UUIDs, hex, base64url…), nothing that could forge a log line. */
const WELL_FORMED = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Gives every request an id: the incoming `X-Request-Id` when it is well formed (a proxy's, or Bitbucket Server's
 * delivery id), else a new UUID. It is echoed in the response's `X-Request-Id` and bound to `res.locals.log`, so
 * every line logged about the request carries it.
 */
export function requestId(log: Logger): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get("X-Request-Id");
    const id = incoming && WELL_FORMED.test(incoming) ? incoming : randomUUID();
    res.setHeader("X-Request-Id", id);
    res.locals.requestId = id;
    // A child logger costs nothing until it writes (most requests write nothing).
    res.locals.log = log.child({ requestId: id });
    next();
  };
}

/** The request's logger (with its id), or `fallback` outside a request that went through `requestId`. */
export function requestLog(res: Response, fallback: Logger): Logger {
  return (res.locals.log as Logger | undefined) ?? fallback;
}
