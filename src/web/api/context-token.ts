import type { RequestHandler } from "express";
import { connectJwt, type VerifyDeps } from "../../forges/cloud-connect/jwt/verify-request";

/**
 * `connectJwt("context")`, except when a router mounted earlier on the same path already verified this request's
 * context token (`res.locals.connect` is only ever set by that check, per request): then it is not verified twice.
 */
export function contextToken(deps: VerifyDeps): RequestHandler {
  const verify = connectJwt("context", deps);
  return (req, res, next) => {
    if ((res.locals.connect as { kind?: string } | undefined)?.kind === "context") next();
    else verify(req, res, next);
  };
}
