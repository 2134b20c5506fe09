import type http from "node:http";
import { joinUrl, request } from "./http-util";

/** The parts of an app's Connect descriptor (`atlassian-connect.json`) that Bitbucket reads. */
export interface Descriptor {
  key: string;
  baseUrl?: string;
  scopes?: string[];
  lifecycle?: { installed?: string; uninstalled?: string };
  modules?: { webhooks?: { event: string; url: string }[]; [module: string]: unknown };
  [field: string]: unknown;
}

/** Fetches `${appBaseUrl}/atlassian-connect.json` the way Bitbucket does when an app is installed. */
export async function fetchDescriptor(appBaseUrl: string, inflight: Set<http.ClientRequest>): Promise<Descriptor> {
  const url = joinUrl(appBaseUrl, "/atlassian-connect.json");
  const res = await request(url, { method: "GET", headers: { Accept: "application/json" }, timeoutMs: 10_000, inflight });
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${res.body.slice(0, 200)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    throw new Error(`GET ${url} did not answer JSON`);
  }
  const d = parsed as Descriptor;
  if (!d || typeof d !== "object" || typeof d.key !== "string" || !d.key) throw new Error(`the descriptor at ${url} has no "key"`);
  return d;
}

/** The absolute URL of a lifecycle callback, resolved against the app's base URL (which may carry a path). */
export function lifecycleUrl(d: Descriptor, appBaseUrl: string, which: "installed" | "uninstalled"): string {
  const rel = d.lifecycle?.[which];
  if (!rel) throw new Error(`the descriptor of "${d.key}" declares no lifecycle.${which}`);
  return joinUrl(appBaseUrl, rel);
}

/** The absolute URL a webhook event is delivered to (an exact event beats a "*" subscription). */
export function webhookUrl(d: Descriptor, appBaseUrl: string, event: string): string {
  const hooks = d.modules?.webhooks ?? [];
  const hook = hooks.find((h) => h.event === event) ?? hooks.find((h) => h.event === "*");
  if (!hook) throw new Error(`the descriptor of "${d.key}" subscribes to no webhook for "${event}"`);
  return joinUrl(appBaseUrl, hook.url);
}

/** The path of the app's base URL, which Connect strips before computing a qsh. */
export function appBasePath(appBaseUrl: string): string {
  return new URL(appBaseUrl).pathname.replace(/\/+$/, "");
}
