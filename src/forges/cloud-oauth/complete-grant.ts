import type { Models, Tenant } from "../../db/models";
import type { CloudCaller } from "../cloud/cloud-caller";
import { storeTokens } from "./oauth-credentials";
import type { OAuthSettings } from "./oauth-settings";
import type { GrantedTokens } from "./token-endpoint";

export interface BitbucketIdentity {
  uuid: string;
  name: string;
}

export interface GrantWorkspace {
  uuid: string;
  slug: string;
  name: string;
}

/** The tenant of a workspace connected through OAuth: one per workspace, whoever connected it. */
export function oauthClientKey(workspaceUuid: string): string {
  return `oauth:${workspaceUuid}`;
}

/** `GET /2.0/user`: who granted access. */
export async function fetchIdentity(caller: CloudCaller): Promise<BitbucketIdentity> {
  const res = await caller.request("GET", "/2.0/user");
  if (res.status !== 200) throw new Error(`Bitbucket answered HTTP ${res.status} to GET /2.0/user`);
  const body = res.json<{ uuid?: unknown; display_name?: unknown; nickname?: unknown }>();
  if (typeof body.uuid !== "string" || !body.uuid) throw new Error("Bitbucket's /2.0/user has no uuid");
  const name = typeof body.display_name === "string" ? body.display_name : typeof body.nickname === "string" ? body.nickname : body.uuid;
  return { uuid: body.uuid, name };
}

/** `GET /2.0/user/permissions/workspaces` (scope `team`), every page: the workspaces the user belongs to. */
export async function fetchWorkspaces(caller: CloudCaller): Promise<GrantWorkspace[]> {
  const out: GrantWorkspace[] = [];
  let next: string | null = "/2.0/user/permissions/workspaces?pagelen=100";
  for (let page = 0; next && page < 20; page++) {
    const res = await caller.request("GET", next);
    if (res.status !== 200) throw new Error(`Bitbucket answered HTTP ${res.status} when Pipelines listed your workspaces (the team scope is needed)`);
    const body = res.json<{ values?: { workspace?: { uuid?: unknown; slug?: unknown; name?: unknown } }[]; next?: unknown }>();
    for (const v of body.values ?? []) {
      const ws = v.workspace;
      if (ws && typeof ws.uuid === "string" && typeof ws.slug === "string") out.push({ uuid: ws.uuid, slug: ws.slug, name: typeof ws.name === "string" ? ws.name : ws.slug });
    }
    const link = typeof body.next === "string" ? body.next : null;
    next = link && link.startsWith(caller.baseApiUrl + "/") ? link.slice(caller.baseApiUrl.length) : null;
  }
  return out;
}

/**
 * Turns a completed grant into tenants: one per workspace the user belongs to (the token covers all of them, and a
 * tenant costs nothing until an application is enabled). A workspace not yet connected — or whose connection is
 * inactive or needs reconnecting — gets this grant's tokens; one still connected through someone else's grant
 * keeps it (the person who connected it stays its owner; this user can see and use it as a member).
 */
export async function connectWorkspaces(models: Models, settings: OAuthSettings, user: BitbucketIdentity, workspaces: GrantWorkspace[], tokens: GrantedTokens): Promise<Tenant[]> {
  const tenants: Tenant[] = [];
  for (const ws of workspaces) {
    const tenant = await models.sequelize.transaction(async (tx) => {
      const clientKey = oauthClientKey(ws.uuid);
      let t = await models.Tenant.findOne({ where: { clientKey }, transaction: tx });
      const wasActive = t?.status === "active";
      const fields = { status: "active" as const, baseUrl: settings.siteUrl, baseApiUrl: settings.apiUrl, principalUuid: ws.uuid, principalName: ws.slug, principalType: "workspace" };
      if (!t) t = await models.Tenant.create({ kind: "cloud-oauth", clientKey, installedAt: new Date(), ...fields }, { transaction: tx });
      else if (!wasActive) await t.update({ ...fields, installedAt: new Date(), uninstalledAt: null }, { transaction: tx });
      const conn = await models.OAuthConnection.findOne({ where: { tenantId: t.id }, transaction: tx });
      const takeOver = !conn || !wasActive || conn.state !== "connected" || conn.userUuid === user.uuid;
      if (takeOver) {
        const values = { workspaceSlug: ws.slug, workspaceUuid: ws.uuid, userUuid: user.uuid, userName: user.name, state: "connected" as const, reason: null };
        if (conn) await conn.update(values, { transaction: tx });
        else await models.OAuthConnection.create({ tenantId: t.id, ...values }, { transaction: tx });
        await storeTokens(models, t.id, tokens, tx);
      }
      return t;
    });
    tenants.push(tenant);
  }
  return tenants;
}
