import type { Request, RequestHandler, Response } from "express";
import { verifyForgeCall, type ForgeCallDeps } from "../../intake/forge-call";

/**
 * POST /forge/tick — the app's hourly scheduled trigger: it brings a fresh system token (Forge's tokens last 2 to 4
 * hours and cannot be refreshed) and shows the installation is still there; an inactive one becomes active again.
 */
export function forgeTickPost(deps: ForgeCallDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const { installation } = await verifyForgeCall(req, deps, { tick: true });
    res.status(200).json({ installation: installation.state });
  };
}
