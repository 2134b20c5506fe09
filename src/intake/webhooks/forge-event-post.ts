import { createHash } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import { badRequest } from "../../http/http-error";
import { FORGE_ACTED_EVENTS, FORGE_LIFECYCLE_EVENTS } from "../../forges/cloud-forge-app/forge-events";
import { acceptDelivery, jsonObjectBody } from "../accept-delivery";
import type { InboxWriter } from "../inbox-writer";
import { verifyForgeCall, type ForgeCallDeps } from "../forge-call";

export interface ForgeEventDeps extends ForgeCallDeps {
  inbox: InboxWriter;
  onStored?: () => void;
}

/** JSON with object keys sorted, so that the same event always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * The delivery id of a Forge event: Forge gives none and retries an event (after a timeout or a 5xx) with the same
 * body plus `retryContext`, so the id is the sha256 of the body without it. Two different events always differ (each
 * carries its own `timestamp` and content).
 */
export function forgeDeliveryId(body: Record<string, unknown>): string {
  const rest = { ...body };
  delete rest.retryContext;
  return `forge-${createHash("sha256").update(canonical(rest)).digest("hex")}`;
}

/**
 * POST /forge/events — a Bitbucket event from the Forge app's trigger (Forge waits 5 s, then retries up to 4 times).
 * Nothing slow happens here:
 * 1. verify the Forge invocation token (401 otherwise, nothing stored) and record the installation and its newest
 *    system token;
 * 2. require a JSON object body (≤ 1 MB) with its `eventType`;
 * 3. lifecycle events (`avi:forge:installed|upgraded:app`): the installation is recorded, nothing more (200);
 * 4. write the raw body to the inbox, unique per (tenant, hash of the body without `retryContext`): a retry of an
 *    event already stored is answered 200 and does nothing;
 * 5. answer 202 once the row is committed (503 if the database cannot take it, so Forge retries).
 */
export function forgeEventPost(deps: ForgeEventDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const { tenant } = await verifyForgeCall(req, deps);
    const raw = Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
    const body = jsonObjectBody(req, raw, "a Forge event is a JSON object");
    const eventType = body.eventType;
    if (typeof eventType !== "string" || !eventType || eventType.length > 128) throw badRequest("a Forge event names its eventType");
    if ((FORGE_LIFECYCLE_EVENTS as readonly string[]).includes(eventType)) {
      res.status(200).json({ installation: "recorded" });
      return;
    }
    const retry = body.retryContext && typeof body.retryContext === "object" ? (body.retryContext as Record<string, unknown>).retryCount : undefined;
    await acceptDelivery(
      deps.inbox,
      res,
      {
        tenantId: tenant.id,
        deliveryId: forgeDeliveryId(body),
        eventKey: eventType,
        hookUuid: null,
        attempt: Number.isSafeInteger(retry) ? (retry as number) + 1 : 1,
        body: raw,
        acted: FORGE_ACTED_EVENTS.has(eventType),
      },
      deps.onStored,
    );
  };
}
