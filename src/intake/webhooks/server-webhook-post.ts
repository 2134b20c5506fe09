import type { Request, RequestHandler, Response } from "express";
import { revealSecret } from "../../db/encrypted-fields";
import { badRequest } from "../../http/http-error";
import { acceptDelivery, deliveryIdOf, jsonObjectBody } from "../accept-delivery";
import { verifySignedWebhook, type SignedWebhookDeps } from "../signed-webhook";
import { SERVER_ACTED_EVENTS } from "../../forges/server/parse-server-event";

/**
 * POST /webhook/server/:hookKey — a Bitbucket Server / Data Center webhook delivery. Nothing slow happens here:
 * 1. find the webhook by the random key in its URL and verify `X-Hub-Signature` with its secret (401 otherwise,
 *    nothing stored; see verifySignedWebhook);
 * 2. `diagnostics:ping` (the server's "Test connection") → 200, nothing stored;
 * 3. require a JSON object body, `X-Event-Key` agreeing with its `eventKey`, and the delivery id (`X-Request-Id`);
 * 4. write the raw delivery to the inbox, unique per (tenant, delivery id): a duplicate is answered 200;
 * 5. answer 202 once the row is committed (503 if the database cannot take it, so the server retries).
 */
export function serverWebhookPost(deps: SignedWebhookDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const { hook, tenant } = await verifySignedWebhook(
      req,
      raw,
      deps,
      () => deps.models.ServerWebhook.findOne({ where: { hookKey: String(req.params.hookKey) } }),
      (h) => ({ tenantId: h.tenantId, repository: h.repository, secret: revealSecret(h, "secret") ?? "" }),
    );
    const eventKey = req.get("X-Event-Key") ?? "";
    if (eventKey === "diagnostics:ping") {
      res.status(200).json({ ok: true });
      return;
    }
    const text = raw.toString("utf8");
    const bodyEvent = jsonObjectBody(req, text).eventKey;
    if (typeof bodyEvent !== "string" || bodyEvent !== eventKey) throw badRequest(`X-Event-Key "${eventKey}" does not match the body's eventKey "${String(bodyEvent)}"`);
    const deliveryId = deliveryIdOf(req, "X-Request-Id");
    await acceptDelivery(
      deps.inbox,
      res,
      { tenantId: tenant.id, deliveryId, eventKey, hookUuid: hook.hookKey, attempt: null, body: text, acted: SERVER_ACTED_EVENTS.has(eventKey) },
      deps.onStored,
    );
  };
}
