import type { Models, Tenant } from "../db/models";
import type { ApiResponse } from "../forges/cloud-connect/cloud-api";
import type { CloudCaller } from "../forges/cloud/cloud-caller";
import { scopeInfo } from "../scopes/catalogue";
import { parseScopeHeader } from "../scopes/effective-scopes";
import { missingScopes } from "../scopes/compare-scopes";
import { recordAddedToBitbucket, tenantSshKey } from "./ssh-key-store";

export const SSH_KEY_LABEL = "Pipelines for Bitbucket";
const SCOPE = "account:write";
const TIMEOUT_MS = 10_000;

/** What happened when the tenant's public key was offered to a user's Bitbucket account. */
export type AddSshKeyResult =
  | { outcome: "added"; keyUuid: string | null }
  | { outcome: "already-added"; keyUuid: string | null }
  /** Bitbucket holds the key on another account (a key can be on one account only). */
  | { outcome: "other-account"; message: string }
  | { outcome: "missing-scope"; scope: string; message: string }
  | { outcome: "bitbucket-error"; status: number; message: string }
  | { outcome: "unreachable"; message: string };

interface BitbucketError {
  error?: { message?: unknown; fields?: Record<string, unknown> };
}

/** Bitbucket's own words from an error body (`error.message` and per-field problems), bounded and single-line. */
export function bitbucketMessage(res: ApiResponse): string {
  let text: string;
  try {
    const e = res.json<BitbucketError>().error;
    const fields = Object.values(e?.fields ?? {}).flat().filter((v): v is string => typeof v === "string");
    text = [typeof e?.message === "string" ? e.message : "", ...fields.filter((f) => !String(e?.message ?? "").includes(f))].filter(Boolean).join(" ");
  } catch {
    text = "";
  }
  text = text.replace(/[\p{Cc}\s]+/gu, " ").trim();
  if (!text) return `Bitbucket answered HTTP ${res.status}`;
  return text.length > 300 ? `${text.slice(0, 297)}…` : text;
}

/** The key type and material of a key line (what Bitbucket compares; the comment is not part of the key). */
function material(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(" ");
}

/**
 * Adds the tenant's public key to the Bitbucket account `user` (`POST /2.0/users/{selected_user}/ssh-keys`, scope
 * account:write, through the tenant's API as the app) and remembers where it went. When Bitbucket says the key is
 * already used, the user's keys are listed to tell "already on your account" from "on someone else's".
 */
export async function addSshKeyToBitbucket(models: Models, tenant: Tenant, user: string, api: CloudCaller): Promise<AddSshKeyResult> {
  const row = await tenantSshKey(models, tenant);
  const path = `/2.0/users/${encodeURIComponent(user)}/ssh-keys`;
  let res: ApiResponse;
  try {
    res = await api.request("POST", path, { body: { key: row.publicKey, label: SSH_KEY_LABEL }, timeoutMs: TIMEOUT_MS });
  } catch (err) {
    return unreachable(err);
  }
  if (res.status === 201 || res.status === 200) {
    const keyUuid = uuidOf(res);
    await recordAddedToBitbucket(row, user, keyUuid);
    return { outcome: "added", keyUuid };
  }
  if (res.status === 403) {
    const granted = res.headers.get("x-oauth-scopes");
    if (granted === null) return { outcome: "bitbucket-error", status: 403, message: `${bitbucketMessage(res)} (adding a key needs the ${SCOPE} scope)` };
    if (missingScopes(parseScopeHeader(granted), [SCOPE]).length > 0) {
      const info = scopeInfo(SCOPE);
      return {
        outcome: "missing-scope",
        scope: SCOPE,
        message: `Pipelines was not granted the ${SCOPE} scope (“${info?.approval ?? SCOPE}”) in this workspace, so it cannot add SSH keys to accounts; an administrator must approve it (update or re-install the app). Bitbucket said: ${bitbucketMessage(res)}`,
      };
    }
    return { outcome: "bitbucket-error", status: res.status, message: bitbucketMessage(res) };
  }
  if (res.status === 400 && /already|exists|in use/i.test(res.text)) {
    const found = await findOnAccount(api, path, material(row.publicKey));
    if (found.onAccount) {
      await recordAddedToBitbucket(row, user, found.keyUuid);
      return { outcome: "already-added", keyUuid: found.keyUuid };
    }
    return { outcome: "other-account", message: bitbucketMessage(res) };
  }
  return { outcome: "bitbucket-error", status: res.status, message: bitbucketMessage(res) };
}

function uuidOf(res: ApiResponse): string | null {
  try {
    const uuid = res.json<{ uuid?: unknown }>().uuid;
    return typeof uuid === "string" ? uuid : null;
  } catch {
    return null;
  }
}

/** Looks for the key among the user's SSH keys (first pages only: an account has few keys). */
async function findOnAccount(api: CloudCaller, path: string, key: string): Promise<{ onAccount: boolean; keyUuid: string | null }> {
  let next: string | null = `${path}?pagelen=100`;
  for (let page = 0; next && page < 5; page++) {
    let res: ApiResponse;
    try {
      res = await api.request("GET", next, { timeoutMs: TIMEOUT_MS });
    } catch {
      break;
    }
    if (res.status !== 200) break;
    const body = res.json<{ values?: { key?: unknown; uuid?: unknown }[]; next?: unknown }>();
    const hit = (body.values ?? []).find((k) => typeof k.key === "string" && material(k.key) === key);
    if (hit) return { onAccount: true, keyUuid: typeof hit.uuid === "string" ? hit.uuid : null };
    next = typeof body.next === "string" ? relativeTo(api.baseApiUrl, body.next) : null;
  }
  return { onAccount: false, keyUuid: null };
}

/** A `next` link as a path on the tenant's API, or null when it points anywhere else. */
function relativeTo(base: string, link: string): string | null {
  const root = base.replace(/\/+$/, "");
  return link.startsWith(root + "/") ? link.slice(root.length) : null;
}

function unreachable(err: unknown): AddSshKeyResult {
  const e = err as Error;
  const why = e.name === "TimeoutError" ? "it did not answer in time" : ((e.cause as Error | undefined)?.message ?? e.message);
  return { outcome: "unreachable", message: `Bitbucket's API could not be reached: ${why}` };
}
