import type { Request, Response } from "express";
import { HttpError, badRequest } from "../http/http-error";
import { isDatabaseUnavailable } from "./database-unavailable";
import type { IncomingDelivery, InboxWriter } from "./inbox-writer";
import type { Logger } from "../log/logger";

/** The database cannot take the delivery now: 503, so Bitbucket delivers it again. */
export const serviceUnavailable = () => new HttpError(503, "the database is unavailable; retry the delivery", { "Retry-After": "5" });

/** Runs a database step of a webhook request, turning "database unavailable" into a 503. */
export async function orUnavailable<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw serviceUnavailable();
    throw err;
  }
}

/** A webhook's JSON object body (415 when not JSON, 400 with the parser's message when it does not parse). */
export function jsonObjectBody(req: Request, text: string, what = "a webhook body is a JSON object"): Record<string, unknown> {
  if (!req.is("application/json")) throw new HttpError(415, "a webhook body must be application/json");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw badRequest(`malformed JSON: ${(err as Error).message}`);
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest(what);
  return body as Record<string, unknown>;
}

/** The delivery id from `header` (Bitbucket Cloud: X-Request-UUID, Server: X-Request-Id); 400 when missing. */
export function deliveryIdOf(req: Request, header: string): string {
  const id = req.get(header);
  if (!id || id.length > 128) throw badRequest(`the ${header} header (the delivery id) is missing or too long`);
  return id;
}

/** A verified delivery; `acted`: an event Pipelines acts on (any other is stored as ignored, with the reason). */
export type AcceptedDelivery = Omit<IncomingDelivery, "status" | "outcome"> & { acted: boolean };

/**
 * The end of every webhook route: writes the delivery to the inbox (group commit), then answers — 202 once it is
 * committed (no body on the hot path: serialising one and its ETag cost a third of the intake's throughput), 200
 * for a delivery already there, 503 when the database cannot take it. Wakes the processor for new work.
 */
export async function acceptDelivery(inbox: InboxWriter, res: Response, d: AcceptedDelivery, onStored?: () => void): Promise<void> {
  const result = await orUnavailable(() =>
    inbox.write({
      tenantId: d.tenantId,
      deliveryId: d.deliveryId,
      eventKey: d.eventKey,
      hookUuid: d.hookUuid,
      attempt: d.attempt,
      body: d.body,
      status: d.acted ? "pending" : "ignored",
      outcome: d.acted ? null : JSON.stringify([{ outcome: "ignored", reason: `Pipelines does not act on ${d.eventKey}` }]),
    }),
  );
  // The request's logger (with its request id), when the app gave it one: the delivery's id joins them.
  (res.locals.log as Logger | undefined)?.debug(result === "duplicate" ? "delivery already stored" : "delivery stored", { delivery: d.deliveryId, tenant: d.tenantId, event: d.eventKey });
  if (result === "duplicate") {
    res.status(200).json({ delivery: d.deliveryId, duplicate: true });
    return;
  }
  if (!d.acted) {
    res.status(202).json({ delivery: d.deliveryId, status: "ignored" });
    return;
  }
  onStored?.();
  res.status(202).end();
}
