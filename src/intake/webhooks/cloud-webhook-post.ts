import type { Request, RequestHandler, Response } from "express";
import { revealSecret } from "../../db/encrypted-fields";
import { badRequest } from "../../http/http-error";
import { ACTED_EVENTS } from "../../forges/acted-events";
import { acceptDelivery, deliveryIdOf, jsonObjectBody } from "../accept-delivery";
import { verifySignedWebhook, type SignedWebhookDeps } from "../signed-webhook";

/**
 * POST /webhook/cloud/:hookKey — a Bitbucket Cloud repository webhook (OAuth connections). Nothing slow here:
 * 1. find the webhook by the random key in its URL and verify `X-Hub-Signature` with its secret (401 otherwise,
 *    nothing stored; see verifySignedWebhook);
 * 2. require a JSON object body, `X-Event-Key` and the delivery id `X-Request-UUID`;
 * 3. write the raw delivery (the bare payload) to the inbox, unique per (tenant, delivery id): a duplicate is 200;
 * 4. answer 202 once the row is committed (503 if the database cannot take it, so Bitbucket retries).
 */
export function cloudWebhookPost(deps: SignedWebhookDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const { hook, tenant } = await verifySignedWebhook(
      req,
      raw,
      deps,
      () => deps.models.CloudWebhook.findOne({ where: { hookKey: String(req.params.hookKey) } }),
      (h) => ({ tenantId: h.tenantId, repository: h.repository, secret: revealSecret(h, "secret") ?? "" }),
    );
    const text = raw.toString("utf8");
    jsonObjectBody(req, text);
    const eventKey = req.get("X-Event-Key") ?? "";
    if (!eventKey) throw badRequest("the X-Event-Key header is missing");
    const deliveryId = deliveryIdOf(req, "X-Request-UUID");
    const attempt = Number(req.get("X-Attempt-Number"));
    await acceptDelivery(
      deps.inbox,
      res,
      {
        tenantId: tenant.id,
        deliveryId,
        eventKey,
        hookUuid: (req.get("X-Hook-UUID") ?? hook.bitbucketUuid ?? hook.hookKey).slice(0, 64),
        attempt: Number.isSafeInteger(attempt) && attempt > 0 ? attempt : null,
        body: text,
        acted: ACTED_EVENTS.has(eventKey),
      },
      deps.onStored,
    );
  };
}
