import type { Response } from "express";
import type { Tenant } from "../db/models";

/**
 * Who a JSON API request acts for, whichever door it came through: a Connect context token (inside Bitbucket), the
 * session of the standalone pages (OAuth connections), or a Forge invocation token (the Forge app's pages). The middleware that verified the request sets it; API
 * routes read it with `tenantOf(res)` and never ask which door it was.
 */
export interface TenantAuth {
  tenant: Tenant;
  /** The Bitbucket user acting (a Connect token's `sub`, or the session's account uuid), when known. */
  user: string | null;
  /** The acting user's name for people (the session's Bitbucket name), when known. */
  userName?: string | null;
  via: "connect" | "session" | "forge";
}

export function setTenantAuth(res: Response, auth: TenantAuth): void {
  res.locals.tenantAuth = auth;
}

export function tenantAuthOf(res: Response): TenantAuth {
  const auth = res.locals.tenantAuth as TenantAuth | undefined;
  if (!auth) throw new Error("no authentication middleware ran for this route");
  return auth;
}

export function tenantOf(res: Response): Tenant {
  return tenantAuthOf(res).tenant;
}
