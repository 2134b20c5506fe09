import type { Response } from "express";

/**
 * Headers for a page shown inside Bitbucket: only the tenant's own Bitbucket may frame it, and the page URL
 * (which carries the iframe JWT) is never sent on as a referrer.
 */
export function setPageHeaders(res: Response, tenantBaseUrl: string): void {
  const origin = new URL(tenantBaseUrl).origin;
  res.setHeader("Content-Security-Policy", `frame-ancestors ${origin}; object-src 'none'; base-uri 'none'`);
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Cache-Control", "no-store");
}
