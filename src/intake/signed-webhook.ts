import type { Request } from "express";
import type { Models, Tenant } from "../db/models";
import { unauthorized } from "../http/http-error";
import type { Logger } from "../log/logger";
import { verifyHubSignature } from "./verify-hub-signature";
import { orUnavailable } from "./accept-delivery";
import type { InboxWriter } from "./inbox-writer";

/** What the routes of webhooks Pipelines registered itself need (Bitbucket Server; Cloud through OAuth). */
export interface SignedWebhookDeps {
  models: Models;
  log: Logger;
  /** Writes deliveries with group commit. */
  inbox: InboxWriter;
  /** Called after a new delivery is committed (wakes the processor). */
  onStored?: () => void;
}

/** A repository webhook Pipelines created, with its own secret (Bitbucket Server, or Cloud through OAuth). */
export interface SignedHook {
  tenantId: number;
  repository: string;
  /** The secret in plain text. */
  secret: string;
}

/**
 * The first steps of a webhook route for hooks Pipelines registered itself: find the hook by the random key in its
 * URL (unknown, or its tenant no longer active → 401), then check `X-Hub-Signature: sha256=<hex>` over the raw
 * body with that hook's secret in constant time (missing, malformed, another algorithm or wrong → 401). Nothing is
 * stored before this passes; a database that cannot answer is a 503.
 */
export async function verifySignedWebhook<H>(
  req: Request,
  raw: Buffer,
  deps: { models: Models; log: Logger },
  find: () => Promise<H | null>,
  describe: (hook: H) => SignedHook,
): Promise<{ hook: H; tenant: Tenant }> {
  const found = await orUnavailable(async () => {
    const hook = await find();
    const tenant = hook && (await deps.models.Tenant.findByPk(describe(hook).tenantId));
    return hook && tenant ? { hook, tenant } : null;
  });
  if (!found || found.tenant.status !== "active") throw unauthorized("no active webhook has this URL (it was deleted, or its connection removed)");
  const { repository, secret } = describe(found.hook);
  const verdict = verifyHubSignature(raw, req.get("X-Hub-Signature"), secret);
  if (!verdict.ok) {
    deps.log.warn("webhook refused", { tenant: found.tenant.id, repository, reason: verdict.reason });
    throw unauthorized(`${verdict.reason} (webhook of ${repository})`);
  }
  return found;
}
