import type { Request, RequestHandler, Response } from "express";
import type { Models } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";
import { HttpError, badRequest } from "../../http/http-error";
import { ACTED_EVENTS } from "../../intake/acted-events";
import { isDatabaseUnavailable } from "../../intake/database-unavailable";
import type { InboxWriter } from "../../intake/inbox-writer";
import type { Logger } from "../../log/logger";
import { verifyHubSignature } from "../server/verify-hub-signature";

export interface CloudWebhookDeps {
  models: Models;
  log: Logger;
  inbox: InboxWriter;
  onStored?: () => void;
}

const serviceUnavailable = () => new HttpError(503, "the database is unavailable; retry the delivery", { "Retry-After": "5" });
const unauthorized = (why: string) => new HttpError(401, why);

/**
 * POST /webhook/cloud/:hookKey — a Bitbucket Cloud repository webhook (OAuth connections). Nothing slow here:
 * 1. find the webhook by the random key in its URL (unknown, or its connection removed → 401, nothing stored);
 * 2. verify `X-Hub-Signature: sha256=<hex>` over the raw body with that webhook's secret, in constant time;
 * 3. require a JSON object body, `X-Event-Key` and the delivery id `X-Request-UUID`;
 * 4. write the raw delivery (the bare payload) to the inbox, unique per (tenant, delivery id): a duplicate is 200;
 * 5. answer 202 once the row is committed (503 if the database cannot take it, so Bitbucket retries).
 */
export function cloudWebhookPost(deps: CloudWebhookDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let hook, tenant;
    try {
      hook = await deps.models.CloudWebhook.findOne({ where: { hookKey: String(req.params.hookKey) } });
      tenant = hook && (await deps.models.Tenant.findByPk(hook.tenantId));
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw serviceUnavailable();
      throw err;
    }
    if (!hook || !tenant || tenant.status !== "active") throw unauthorized("no active webhook has this URL (it was deleted, or its connection disconnected)");
    const verdict = verifyHubSignature(raw, req.get("X-Hub-Signature"), revealSecret(hook, "secret") ?? "");
    if (!verdict.ok) {
      deps.log.warn("cloud webhook refused", { tenant: tenant.id, repository: hook.repository, reason: verdict.reason });
      throw unauthorized(`${verdict.reason} (webhook of ${hook.repository})`);
    }
    if (!req.is("application/json")) throw new HttpError(415, "a webhook body must be application/json");
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch (err) {
      throw badRequest(`malformed JSON: ${(err as Error).message}`);
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("a webhook body is a JSON object");
    const eventKey = req.get("X-Event-Key") ?? "";
    if (!eventKey) throw badRequest("the X-Event-Key header is missing");
    const deliveryId = req.get("X-Request-UUID");
    if (!deliveryId || deliveryId.length > 128) throw badRequest("the X-Request-UUID header (the delivery id) is missing or too long");
    const attempt = Number(req.get("X-Attempt-Number"));

    const acted = ACTED_EVENTS.has(eventKey);
    let result;
    try {
      result = await deps.inbox.write({
        tenantId: tenant.id,
        deliveryId,
        eventKey,
        hookUuid: (req.get("X-Hook-UUID") ?? hook.bitbucketUuid ?? hook.hookKey).slice(0, 64),
        attempt: Number.isSafeInteger(attempt) && attempt > 0 ? attempt : null,
        body: raw.toString("utf8"),
        status: acted ? "pending" : "ignored",
        outcome: acted ? null : JSON.stringify([{ outcome: "ignored", reason: `Pipelines does not act on ${eventKey}` }]),
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
    if (acted) res.status(202).end();
    else res.status(202).json({ delivery: deliveryId, status: "ignored" });
  };
}
