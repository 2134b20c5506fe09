import { createHash, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import type { Logger } from "../log/logger";
import type { ServiceMetrics } from "./service-metrics";

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * GET /metrics — the Prometheus exposition. With a token, only for `Authorization: Bearer <token>` (compared in
 * constant time; anything else is a 401 that says nothing about the metrics). A database that cannot answer is a 503.
 */
export function metricsGet(metrics: ServiceMetrics, token: string | null, log: Logger): RequestHandler {
  const expected = token ? digest(token) : null;
  return (req: Request, res: Response) => {
    if (expected) {
      const m = /^Bearer\s+(\S+)$/i.exec(req.get("Authorization") ?? "");
      if (!m || !timingSafeEqual(digest(m[1]), expected)) {
        res.setHeader("WWW-Authenticate", 'Bearer realm="metrics"');
        res.status(401).json({ error: "the metrics need Authorization: Bearer <PIPELINES_METRICS_TOKEN>" });
        return;
      }
    }
    metrics.render().then(
      (text) => {
        res.setHeader("Content-Type", metrics.contentType);
        res.setHeader("Cache-Control", "no-store");
        res.status(200).end(text);
      },
      (err: unknown) => {
        log.warn("metrics could not be read", { error: (err as Error).message });
        res.status(503).json({ error: "the metrics could not be read from the database" });
      },
    );
  };
}
