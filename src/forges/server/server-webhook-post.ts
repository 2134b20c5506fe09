import type { Request, RequestHandler, Response } from "express";
import type { Models } from "../../db/models";
import { revealSecret } from "../../db/encrypted-fields";
import { HttpError, badRequest } from "../../http/http-error";
import { isDatabaseUnavailable } from "../../intake/database-unavailable";
import type { InboxWriter } from "../../intake/inbox-writer";
import type { Logger } from "../../log/logger";
import { SERVER_ACTED_EVENTS } from "./parse-server-event";
import { verifyHubSignature } from "./verify-hub-signature";

export interface ServerWebhookDeps {
  models: Models;
  log: Logger;
  inbox: InboxWriter;
  onStored?: () => void;
}

const serviceUnavailable = () => new HttpError(503, "the database is unavailable; retry the delivery", { "Retry-After": "5" });
const unauthorized = (why: string) => new HttpError(401, why);

/**
 * POST /webhook/server/:hookKey — a Bitbucket Server / Data Center webhook delivery. Nothing slow happens here:
 * 1. find the webhook by the random key in its URL (unknown, or its connection removed → 401, nothing stored);
 * 2. verify `X-Hub-Signature: sha256=<hex>` over the raw body with that webhook's secret, in constant time
 *    (missing, malformed, another algorithm or wrong → 401, nothing stored);
 * 3. `diagnostics:ping` (the server's "Test connection") → 200, nothing stored;
 * 4. require a JSON object body, `X-Event-Key` agreeing with its `eventKey`, and the delivery id (`X-Request-Id`);
 * 5. write the raw delivery to the inbox, unique per (tenant, delivery id): a duplicate is answered 200;
 * 6. answer 202 once the row is committed (503 if the database cannot take it, so the server retries).
 */
export function serverWebhookPost(deps: ServerWebhookDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let hook;
    try {
      hook = await deps.models.ServerWebhook.findOne({ where: { hookKey: String(req.params.hookKey) } });
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw serviceUnavailable();
      throw err;
    }
    const tenant = hook && (await deps.models.Tenant.findByPk(hook.tenantId));
    if (!hook || !tenant || tenant.status !== "active") throw unauthorized("no active webhook has this URL (it was deleted, or its connection removed)");
    const verdict = verifyHubSignature(raw, req.get("X-Hub-Signature"), revealSecret(hook, "secret") ?? "");
    if (!verdict.ok) {
      deps.log.warn("server webhook refused", { tenant: tenant.id, repository: hook.repository, reason: verdict.reason });
      throw unauthorized(verdict.reason);
    }

    const eventKey = req.get("X-Event-Key") ?? "";
    if (eventKey === "diagnostics:ping") {
      res.status(200).json({ ok: true });
      return;
    }
    if (!req.is("application/json")) throw new HttpError(415, "a webhook body must be application/json");
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch (err) {
      throw badRequest(`malformed JSON: ${(err as Error).message}`);
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("a webhook body is a JSON object");
    const bodyEvent = (body as { eventKey?: unknown }).eventKey;
    if (typeof bodyEvent !== "string" || bodyEvent !== eventKey) throw badRequest(`X-Event-Key "${eventKey}" does not match the body's eventKey "${String(bodyEvent)}"`);
    const deliveryId = req.get("X-Request-Id");
    if (!deliveryId || deliveryId.length > 128) throw badRequest("the X-Request-Id header (the delivery id) is missing or too long");

    const acted = SERVER_ACTED_EVENTS.has(eventKey);
    let result;
    try {
      result = await deps.inbox.write({
        tenantId: tenant.id,
        deliveryId,
        eventKey,
        hookUuid: hook.hookKey,
        attempt: null,
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
