import type { Request, RequestHandler, Response } from "express";
import { HttpError, badRequest } from "../../http/http-error";
import { ACTED_EVENTS } from "../../intake/acted-events";
import { isDatabaseUnavailable } from "../../intake/database-unavailable";
import type { InboxWriter } from "../../intake/inbox-writer";
import type { Logger } from "../../log/logger";
import { verifyConnectRequest, type VerifyDeps } from "./jwt/verify-request";

export interface WebhookDeps extends VerifyDeps {
  log: Logger;
  /** Writes deliveries with group commit. */
  inbox: InboxWriter;
  /** Called after a new delivery is committed (wakes the processor); never awaited by the request. */
  onStored?: () => void;
}

const serviceUnavailable = () => new HttpError(503, "the database is unavailable; retry the delivery", { "Retry-After": "5" });

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
    let auth;
    try {
      auth = await verifyConnectRequest(req, "normal", deps);
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw serviceUnavailable();
      throw err;
    }

    if (!req.is("application/json")) throw new HttpError(415, "a webhook body must be application/json");
    const raw = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (err) {
      throw badRequest(`malformed JSON: ${(err as Error).message}`);
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("a Connect webhook body is an object {\"event\": …, \"data\": …}");
    const { event, data } = body as { event?: unknown; data?: unknown };
    if (typeof event !== "string" || !data || typeof data !== "object") throw badRequest("a Connect webhook body is an object {\"event\": …, \"data\": …}");

    const deliveryId = req.get("X-Request-UUID");
    if (!deliveryId || deliveryId.length > 128) throw badRequest("the X-Request-UUID header (the delivery id) is missing or too long");
    const eventKey = req.get("X-Event-Key") ?? event;
    if (eventKey !== event) throw badRequest(`X-Event-Key "${eventKey}" does not match the body's event "${event}"`);
    const attempt = Number(req.get("X-Attempt-Number"));

    const acted = ACTED_EVENTS.has(event);
    let result;
    try {
      result = await deps.inbox.write({
        tenantId: auth.tenant.id,
        deliveryId,
        eventKey: event,
        hookUuid: req.get("X-Hook-UUID") ?? null,
        attempt: Number.isInteger(attempt) ? attempt : null,
        body: raw,
        status: acted ? "pending" : "ignored",
        outcome: acted ? null : JSON.stringify([{ outcome: "ignored", reason: `Pipelines does not act on ${event}` }]),
      });
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw serviceUnavailable();
      throw err;
    }
    if (result === "duplicate") {
      res.status(200).json({ delivery: deliveryId, duplicate: true });
      return;
    }
    if (acted) deps.onStored?.();
    // The hot path answers with no body: serialising one (and its ETag) cost a third of the intake's throughput.
    if (acted) res.status(202).end();
    else res.status(202).json({ delivery: deliveryId, status: "ignored" });
  };
}
