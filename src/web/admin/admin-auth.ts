import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { HttpError } from "../../http/http-error";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** The token a request presents: `Authorization: Bearer <token>`, or Basic with the token as the password (a browser's prompt). */
function presented(header: string | undefined): string | null {
  if (!header) return null;
  const bearer = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic[ ]+([A-Za-z0-9+/=]+)[ ]*$/i.exec(header);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon >= 0 ? decoded.slice(colon + 1) : null;
}

/**
 * The service administrator's pages (`/admin/…`). There are no administrator accounts: the operator sets
 * PIPELINES_ADMIN_TOKEN and presents it in the Authorization header (Bearer, or as the password of the browser's
 * Basic prompt; never in the URL). Without the setting the pages do not exist (404). Compared as SHA-256 digests
 * in constant time.
 */
export function adminAuth(token: string | null): RequestHandler {
  const expected = token === null ? null : digest(token);
  return (req, _res, next) => {
    if (expected === null) return next(new HttpError(404, "not found"));
    const given = presented(req.get("Authorization"));
    if (given !== null && timingSafeEqual(digest(given), expected)) return next();
    next(new HttpError(401, "the administrator's pages need the PIPELINES_ADMIN_TOKEN (Authorization: Bearer <token>, or as the password)", { "WWW-Authenticate": 'Basic realm="pipelines-admin", charset="UTF-8"' }));
  };
}
