import type { RequestHandler } from "express";
import type { DeliveryKind, DeliveryOutcome, ServiceMetrics } from "./service-metrics";

function outcomeOf(status: number): DeliveryOutcome | null {
  if (status === 202) return "received";
  if (status >= 200 && status < 300) return "duplicate";
  if (status >= 400 && status < 500) return "refused";
  if (status >= 500) return "unavailable";
  return null;
}

/**
 * Put in front of a webhook route: counts the delivery by the answer it got once the answer is sent (202 received,
 * 200 duplicate, 4xx refused, 5xx unavailable). The route itself knows nothing of metrics.
 */
export function countDeliveries(metrics: ServiceMetrics, kind: DeliveryKind): RequestHandler {
  return (_req, res, next) => {
    res.once("finish", () => {
      const outcome = outcomeOf(res.statusCode);
      if (outcome) metrics.delivery(kind, outcome);
    });
    next();
  };
}
