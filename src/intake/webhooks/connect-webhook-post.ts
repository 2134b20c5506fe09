import type { Request, RequestHandler, Response } from "express";
import { badRequest } from "../../http/http-error";
import { ACTED_EVENTS } from "../../forges/acted-events";
import { acceptDelivery, deliveryIdOf, jsonObjectBody, orUnavailable } from "../accept-delivery";
import type { InboxWriter } from "../inbox-writer";
import type { Logger } from "../../log/logger";
import { verifyConnectRequest, type VerifyDeps } from "../../forges/cloud-connect/jwt/verify-request";

export interface WebhookDeps extends VerifyDeps {
  log: Logger;
  /** Writes deliveries with group commit. */
  inbox: InboxWriter;
  /** Called after a new delivery is committed (wakes the processor); never awaited by the request. */
  onStored?: () => void;
}

/**
 * POST /webhook — a Connect webhook delivery. Nothing slow happens here:
 * 1. verify the JWT (tenant, signature, exp/iat, qsh of this request); 401 otherwise, nothing stored;
 * 2. require a JSON body `{event, data}` no larger than 1 MB (413) that parses (400 with the parser's message);
 * 3. require the delivery id (`X-Request-UUID`) and an event key that agrees with the body;
 * 4. write the raw delivery to the inbox, unique per (tenant, delivery id): a duplicate is answered 200 and does nothing;
 * 5. answer 202 (no body) only once the row is committed (503 if the database cannot take it, so Bitbucket retries).
 */
export function connectWebhookPost(deps: WebhookDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const auth = await orUnavailable(() => verifyConnectRequest(req, "normal", deps));
    const raw = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
    const shape = "a Connect webhook body is an object {\"event\": …, \"data\": …}";
    const { event, data } = jsonObjectBody(req, raw, shape);
    if (typeof event !== "string" || !data || typeof data !== "object") throw badRequest(shape);
    const deliveryId = deliveryIdOf(req, "X-Request-UUID");
    const eventKey = req.get("X-Event-Key") ?? event;
    if (eventKey !== event) throw badRequest(`X-Event-Key "${eventKey}" does not match the body's event "${event}"`);
    const attempt = Number(req.get("X-Attempt-Number"));
    await acceptDelivery(
      deps.inbox,
      res,
      { tenantId: auth.tenant.id, deliveryId, eventKey: event, hookUuid: req.get("X-Hook-UUID") ?? null, attempt: Number.isInteger(attempt) ? attempt : null, body: raw, acted: ACTED_EVENTS.has(event) },
      deps.onStored,
    );
  };
}
