import type { Response } from "express";
import type { Tenant } from "../../db/models";
import { tenantAuthOf } from "../../http/tenant-auth";

/**
 * Who a page (or a fragment of one) is shown to, whichever door it came through: inside Bitbucket's iframe with a
 * Connect token, or standalone with the session of a Bitbucket identity from the OAuth grant. The page handlers,
 * models and views are the same for both; only the chrome differs (Bitbucket's AP script and framing by the
 * tenant's site inside Bitbucket; no framing at all and the session's tenant on the page standalone).
 */
export interface PageAuth {
  tenant: Tenant;
  /** The Bitbucket account the page is shown to (a Connect token's `sub`, or the session's user), when known. */
  user: string | null;
  standalone: boolean;
}

export function pageAuthOf(res: Response): PageAuth {
  const auth = tenantAuthOf(res);
  return { tenant: auth.tenant, user: auth.user, standalone: auth.via === "session" };
}
