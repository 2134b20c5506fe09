import fs from "node:fs";
import path from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import request from "supertest";
import { mintToken } from "./connect-tokens";

export const FIXTURES = path.resolve(__dirname, "..", "..", "..", "shared", "fixtures");

export function fixture<T = unknown>(relative: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, relative), "utf8")) as T;
}

export interface Installed {
  clientKey: string;
  secret: string;
  payload: Record<string, unknown>;
}

/**
 * An install payload built from the real team install fixture, pointing its URLs at `siteUrl`/`apiUrl` (the
 * stand-in, or any loopback address the test owns), with a fresh clientKey and secret.
 */
export function installPayload(opts: { siteUrl: string; apiUrl?: string; clientKey?: string; secret?: string; key?: string }): Installed {
  const base = fixture<{ payload: Record<string, unknown> }>("bitbucket/cloud/connect/lifecycle_installed_team.json").payload;
  const workspaceUuid = `{${randomUUID()}}`;
  const clientKey = opts.clientKey ?? `ari:cloud:bitbucket::app/${workspaceUuid}/pipelines-for-bitbucket`;
  const secret = opts.secret ?? randomBytes(24).toString("base64url");
  const principal = { ...(base.principal as object), uuid: workspaceUuid, username: `ws-${workspaceUuid.slice(1, 9)}` };
  const payload = {
    ...base,
    key: opts.key ?? "pipelines-for-bitbucket",
    clientKey,
    sharedSecret: secret,
    baseUrl: opts.siteUrl,
    baseApiUrl: opts.apiUrl ?? opts.siteUrl,
    principal,
    user: principal,
  };
  return { clientKey, secret, payload };
}

/** POSTs an install; `signWith` is the secret that signs it (none: unsigned, as Bitbucket's first install). */
export function postInstalled(appUrl: string, payload: object, signWith?: { clientKey: string; secret: string }) {
  const req = request(appUrl).post("/installed").set("Content-Type", "application/json");
  if (signWith) req.set("Authorization", `JWT ${mintToken({ ...signWith, method: "POST", path: "/installed" })}`);
  return req.send(payload);
}

export function postUninstalled(appUrl: string, payload: object, signWith?: { clientKey: string; secret: string }) {
  const req = request(appUrl).post("/uninstalled").set("Content-Type", "application/json");
  if (signWith) req.set("Authorization", `JWT ${mintToken({ ...signWith, method: "POST", path: "/uninstalled" })}`);
  return req.send(payload);
}
