import { installPayload, fixture, type Installed } from "../../test/support/install";
import { mintToken } from "../../test/support/connect-tokens";

/** The Connect delivery the intake benchmark sends: a real repo:push body, with Bitbucket's headers. */
export const DELIVERY_FIXTURE = "bitbucket/cloud/connect/webhook_repo_push_create_branch.json";

interface ConnectDelivery {
  headers: Record<string, string>;
  payload: { event: string; data: unknown };
}

export interface BenchTenant {
  installed: Installed;
  /** One token for every request: iss = clientKey, qsh of `POST&/webhook&` (the same for all), exp in an hour. */
  token: string;
}

/** A fresh Connect tenant (install payload from the real team install fixture) and a token for POST /webhook. */
export function benchTenant(): BenchTenant {
  const installed = installPayload({ siteUrl: "http://127.0.0.1:9" });
  const token = mintToken({ clientKey: installed.clientKey, secret: installed.secret, method: "POST", path: "/webhook" });
  return { installed, token };
}

/** The body and headers of the delivery; X-Request-UUID is left out: the load generator sets a fresh one per request. */
export function deliveryRequest(token: string): { body: string; headers: Record<string, string> } {
  const delivery = fixture<ConnectDelivery>(DELIVERY_FIXTURE);
  if (delivery.payload.event !== "repo:push") throw new Error(`${DELIVERY_FIXTURE} is not a repo:push delivery`);
  return {
    body: JSON.stringify(delivery.payload),
    headers: {
      "Content-Type": "application/json",
      "User-Agent": delivery.headers["User-Agent"] ?? "Bitbucket-Webhooks/2.0",
      Authorization: `JWT ${token}`,
      "X-Event-Key": "repo:push",
      "X-Attempt-Number": "1",
      "X-Hook-UUID": delivery.headers["X-Hook-Uuid"] ?? "6b7da635-586c-43dd-97d3-420ccde7dd83",
    },
  };
}

/** Installs the tenant the way Bitbucket's first install arrives: an unsigned POST /installed. */
export async function installTenant(baseUrl: string, tenant: BenchTenant): Promise<void> {
  const res = await fetch(`${baseUrl}/installed`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(tenant.installed.payload),
  });
  if (res.status !== 204) throw new Error(`POST /installed answered ${res.status}: ${await res.text()}`);
}
