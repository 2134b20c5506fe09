import type { RequestHandler } from "express";
import { unauthorized } from "../../http/http-error";

/**
 * Refuses a token in the URL (`?jwt=`): an action route takes its context token in the Authorization header only,
 * so a token never sits in a URL (browser history, proxy logs). The live log's stream is the one exception (an
 * EventSource cannot send headers) and is mounted before this.
 */
export const tokenInHeaderOnly: RequestHandler = (req, _res, next) => {
  if (req.query.jwt !== undefined) next(unauthorized("send the token in the Authorization header (JWT <token>), not in the URL"));
  else next();
};
