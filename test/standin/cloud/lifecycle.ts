import { authorizationFor, claimsForAppRequest, type SenderContext } from "./connect-sender";
import { fetchDescriptor, lifecycleUrl } from "./descriptor";
import { request } from "./http-util";
import { randomSecret } from "./ids";
import { teamAccount } from "./objects";
import type { InstallRecord } from "./state";
import type { InstallOptions, InstallResult, SignWith, UninstallResult } from "./types";

/** The Connect lifecycle as Bitbucket sends it: `installed` (first install, re-install) and `uninstalled`. */

const LIFECYCLE_USER_AGENT = "python-requests/2.22.0";

function clientKeyOf(workspaceUuid: string, appKey: string): string {
  return `ari:cloud:bitbucket::app/${workspaceUuid}/${appKey}`;
}

function secretFor(signWith: SignWith, existing: InstallRecord | undefined, payloadSecret: string): string | null {
  switch (signWith) {
    case "none":
      return null;
    case "payload":
      return payloadSecret;
    case "current": {
      const s = existing?.secrets.at(-1);
      if (!s) throw new Error('signWith "current": the stand-in has given this clientKey no secret yet');
      return s;
    }
    case "previous": {
      const s = existing?.secrets.at(-2);
      if (!s) throw new Error('signWith "previous": this clientKey has had fewer than two secrets');
      return s;
    }
  }
}

async function post(ctx: SenderContext, url: string, body: Record<string, unknown>, authorization: string | undefined): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "User-Agent": LIFECYCLE_USER_AGENT,
    Accept: "*/*",
    "Accept-Encoding": "gzip, deflate",
  };
  if (authorization) headers.Authorization = authorization;
  const res = await request(url, { method: "POST", headers, body: Buffer.from(JSON.stringify(body)), timeoutMs: 10_000, inflight: ctx.inflight });
  return { status: res.status, body: res.body };
}

export async function install(ctx: SenderContext, appBaseUrl: string, opts: InstallOptions = {}): Promise<InstallResult> {
  const descriptor = await fetchDescriptor(appBaseUrl, ctx.inflight);
  const ws = ctx.state.workspace(opts.workspace ?? "acme");
  const clientKey = clientKeyOf(ws.uuid, descriptor.key);
  const existing = ctx.state.installs.get(clientKey);
  const sharedSecret = opts.sharedSecret ?? randomSecret();
  const team = teamAccount(ctx.state.urls, ws);
  const payload: Record<string, unknown> = {
    productType: "bitbucket",
    principal: team,
    eventType: "installed",
    baseUrl: ctx.state.urls.site,
    actor: { type: "user", uuid: ctx.state.developer.uuid.replace(/[{}]/g, ""), account_id: ctx.state.developer.accountId },
    publicKey: ctx.publicKey,
    user: team,
    key: descriptor.key,
    baseApiUrl: ctx.state.urls.api,
    clientKey,
    sharedSecret,
  };
  for (const field of opts.omit ?? []) delete payload[field];

  const url = lifecycleUrl(descriptor, appBaseUrl, "installed");
  const signWith = opts.signWith ?? (existing ? "current" : "none");
  const secret = secretFor(signWith, existing, sharedSecret);
  const auth = secret === null ? undefined : authorizationFor(claimsForAppRequest(clientKey, "POST", url, appBaseUrl), secret, undefined);
  const res = await post(ctx, url, payload, auth);

  // Bitbucket only considers the app installed (with the new secret) when the app accepted the payload.
  if (res.status >= 200 && res.status < 300) {
    const record: InstallRecord = existing ?? {
      clientKey,
      appKey: descriptor.key,
      workspace: ws.slug,
      appBaseUrl,
      descriptor,
      secrets: [],
      installed: true,
      hookUuids: new Map(),
    };
    record.appBaseUrl = appBaseUrl;
    record.descriptor = descriptor;
    record.installed = true;
    if (typeof payload.sharedSecret === "string") record.secrets.push(payload.sharedSecret);
    ctx.state.installs.set(clientKey, record);
  }
  return { status: res.status, body: res.body, clientKey, sharedSecret, workspace: ws.slug, payload };
}

export async function uninstall(
  ctx: SenderContext,
  appBaseUrl: string,
  clientKey: string,
  opts: { signWith?: SignWith } = {},
): Promise<UninstallResult> {
  const inst = ctx.state.install(clientKey);
  const ws = ctx.state.workspace(inst.workspace);
  const team = teamAccount(ctx.state.urls, ws);
  const payload: Record<string, unknown> = {
    productType: "bitbucket",
    eventType: "uninstalled",
    baseUrl: ctx.state.urls.site,
    publicKey: ctx.publicKey,
    user: team,
    key: inst.appKey,
    baseApiUrl: ctx.state.urls.api,
    clientKey,
    principal: team,
  };
  const url = lifecycleUrl(inst.descriptor, appBaseUrl, "uninstalled");
  const secret = secretFor(opts.signWith ?? "current", inst, randomSecret());
  const auth = secret === null ? undefined : authorizationFor(claimsForAppRequest(clientKey, "POST", url, appBaseUrl), secret, undefined);
  // Whatever the app answers, the installation is gone on Bitbucket's side and its tokens stop working.
  inst.installed = false;
  ctx.tokens.revokeAll(clientKey);
  const res = await post(ctx, url, payload, auth);
  return { status: res.status, body: res.body, clientKey, payload };
}
