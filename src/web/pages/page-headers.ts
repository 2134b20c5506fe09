import type { Response } from "express";

/**
 * The Content-Security-Policy of a page shown inside Bitbucket: only the tenant's own Bitbucket may frame it; scripts
 * come from the app itself (`/static`, no inline script anywhere) and from the tenant's site (Bitbucket's AP
 * script); the page talks to the app only.
 */
export function pageCsp(tenantBaseUrl: string): string {
  const origin = new URL(tenantBaseUrl).origin;
  return [
    `frame-ancestors ${origin}`,
    "default-src 'none'",
    `script-src 'self' ${origin}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "object-src 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/**
 * Headers for a page shown inside Bitbucket: its CSP, and the page URL (which carries the iframe JWT) is never sent
 * on as a referrer.
 */
export function setPageHeaders(res: Response, tenantBaseUrl: string): void {
  res.setHeader("Content-Security-Policy", pageCsp(tenantBaseUrl));
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Cache-Control", "no-store");
}

/** Headers for a fragment of a page (HTML its script puts in the page): the same, and never cached. */
export function setFragmentHeaders(res: Response, tenantBaseUrl: string): void {
  setPageHeaders(res, tenantBaseUrl);
}
