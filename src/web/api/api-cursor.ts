import { badRequest } from "../../http/http-error";

/**
 * Cursors of the JSON API's lists: opaque to clients (base64url), made of the positive integers that continue
 * the keyset (`id < …`) where the previous page ended.
 */
export function encodeCursor(keys: readonly number[]): string {
  return Buffer.from(keys.join(".")).toString("base64url");
}

/** The `count` integers of a cursor this API gave, or a 400. */
export function decodeCursor(raw: unknown, count: number): number[] {
  const text = typeof raw === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(raw) ? Buffer.from(raw, "base64url").toString("latin1") : "";
  const parts = text.split(".");
  if (parts.length !== count || !parts.every((p) => /^[1-9]\d{0,14}$/.test(p))) throw badRequest("cursor is not one this API gave: pass the `next` of the previous page as it was");
  return parts.map(Number);
}

/** `limit` of a list: 1 to `max`, `fallback` when absent; anything else is a 400. */
export function limitParam(raw: unknown, fallback = 25, max = 100): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== "string" || !/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw badRequest(`limit must be a whole number from 1 to ${max}`);
  return Number(raw);
}
