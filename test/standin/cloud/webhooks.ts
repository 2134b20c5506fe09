import { randomUUID } from "node:crypto";
import { authorizationFor, claimsForAppRequest, type SenderContext } from "./connect-sender";
import { fetchDescriptor, webhookUrl } from "./descriptor";
import { delay, request } from "./http-util";
import type { WebhookAttempt, WebhookDelivery, WebhookOptions } from "./types";

/**
 * Connect webhook delivery as Bitbucket does it: POST `{"event", "data"}` to the descriptor's URL for the
 * event, a JWT per attempt, the same X-Request-UUID on every attempt of one delivery, and up to two retries
 * when the app answers 5xx or cannot be reached.
 */
export async function sendWebhook(
  ctx: SenderContext,
  appBaseUrl: string,
  clientKey: string,
  event: string,
  data: unknown,
  opts: WebhookOptions = {},
): Promise<WebhookDelivery> {
  const inst = ctx.state.install(clientKey);
  if (!inst.installed && !opts.force) throw new Error(`${clientKey} is uninstalled: Bitbucket sends it no webhooks (pass force: true to send anyway)`);
  const descriptor = inst.appBaseUrl === appBaseUrl ? inst.descriptor : await fetchDescriptor(appBaseUrl, ctx.inflight);
  const url = webhookUrl(descriptor, appBaseUrl, event);
  let hookUuid = inst.hookUuids.get(event);
  if (!hookUuid) {
    hookUuid = randomUUID();
    inst.hookUuids.set(event, hookUuid);
  }
  const requestUuid = opts.requestUuid ?? randomUUID();
  const eventTime = new Date().toUTCString();
  const body = opts.rawBody === undefined ? Buffer.from(JSON.stringify({ event, data })) : Buffer.from(opts.rawBody);
  const secret = inst.secrets.at(-1) ?? null;
  const retries = opts.retries ?? 2;
  const attempts: WebhookAttempt[] = [];

  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    if (attempt > 1) await delay((opts.retryDelayMs ?? ctx.webhookRetryDelayMs) * (attempt - 1));
    if (ctx.stopped()) {
      attempts.push({ attempt, status: 0, body: "", error: "the stand-in was stopped" });
      break;
    }
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "User-Agent": "Bitbucket-Webhooks/2.0",
      Accept: "*/*",
      "X-Attempt-Number": String(attempt),
      "X-Event-Key": event,
      "X-Event-Time": eventTime,
      "X-Hook-UUID": hookUuid,
      "X-Request-UUID": requestUuid,
    };
    const auth = authorizationFor(claimsForAppRequest(clientKey, "POST", url, appBaseUrl), secret, opts.jwt);
    if (auth) headers.Authorization = auth;
    try {
      const res = await request(url, { method: "POST", headers, body, timeoutMs: opts.timeoutMs ?? 10_000, inflight: ctx.inflight });
      attempts.push({ attempt, status: res.status, body: res.body });
      if (res.status < 500) break;
    } catch (err) {
      attempts.push({ attempt, status: 0, body: "", error: (err as Error).message });
    }
  }
  const last = attempts[attempts.length - 1];
  return { event, url, requestUuid, hookUuid, attempts, status: last.status, body: last.body };
}
