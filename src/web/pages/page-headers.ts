import type { Response } from "express";
import type { PageAuth } from "./page-auth";

/**
 * The Content-Security-Policy of a page: inside Bitbucket only the tenant's own Bitbucket may frame it and its AP
 * script may run; a standalone page (session) may not be framed at all and runs the app's scripts only. Scripts
 * come from the app itself (`/static`, no inline script anywhere); the page talks to the app only.
 */
export function pageCsp(tenantBaseUrl: string | null): string {
  const origin = tenantBaseUrl === null ? null : new URL(tenantBaseUrl).origin;
  return [
    origin ? `frame-ancestors ${origin}` : "frame-ancestors 'none'",
    "default-src 'none'",
    origin ? `script-src 'self' ${origin}` : "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "object-src 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/** Inside Bitbucket: the tenant's site (a page's door, or the site itself); standalone: null. */
function framingSite(auth: PageAuth | string | null): string | null {
  if (auth === null || typeof auth === "string") return auth;
  return auth.standalone ? null : auth.tenant.baseUrl;
}

/**
 * Headers for a page: its CSP (framed by the tenant's Bitbucket, or not framed when standalone), and the page URL
 * (which carries the iframe JWT inside Bitbucket) is never sent on as a referrer.
 */
export function setPageHeaders(res: Response, auth: PageAuth | string | null): void {
  const site = framingSite(auth);
  res.setHeader("Content-Security-Policy", pageCsp(site));
  if (site === null) res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Cache-Control", "no-store");
}

/** Headers for a fragment of a page (HTML its script puts in the page): the same, and never cached. */
export function setFragmentHeaders(res: Response, auth: PageAuth | string | null): void {
  setPageHeaders(res, auth);
}
