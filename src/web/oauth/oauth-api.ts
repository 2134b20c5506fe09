import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import { unauthorized } from "../../http/http-error";
import type { TenantRevoker } from "../../tenants/revoke-tenant";
import { disconnectOAuthTenant } from "../../forges/cloud-oauth/disconnect";
import type { CloudCaller } from "../../forges/cloud/cloud-caller";
import type { Tenant } from "../../db/models";
import { tenantOf } from "../../http/tenant-auth";
import { currentSession } from "./session";
import { sessionConnections } from "./oauth-connections";

/** GET /api/oauth/connections — the signed-in user and the connected workspaces they may see (session only). */
export function oauthConnectionsGet(models: Models) {
  return async (req: Request, res: Response) => {
    const session = await currentSession(models, req);
    if (!session?.userUuid) throw unauthorized("sign in with Bitbucket first (Connect Bitbucket)");
    const list = await sessionConnections(models, session);
    res.set("Cache-Control", "no-store").json({ user: { uuid: session.userUuid, name: session.userName }, values: list.map((c) => c.view) });
  };
}

/**
 * POST /api/oauth/disconnect (session + `X-Pipelines-Tenant`) — disconnects that workspace: its webhooks and the SSH
 * key the app added are deleted on Bitbucket, its tokens deleted, its builds stopped. Answers what Bitbucket
 * refused to delete, if anything.
 */
export function oauthDisconnectPost(models: Models, callerFor: (tenant: Tenant) => CloudCaller, revokers: TenantRevoker[]) {
  return async (_req: Request, res: Response) => {
    const tenant = tenantOf(res);
    const result = await disconnectOAuthTenant(models, callerFor(tenant), tenant, revokers);
    res.json({ disconnected: tenant.principalName, leftOnBitbucket: result.leftOnBitbucket });
  };
}
