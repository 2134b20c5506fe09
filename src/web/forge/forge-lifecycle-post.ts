import type { Request, RequestHandler, Response } from "express";
import { verifyForgeCall, type ForgeCallDeps } from "../../intake/forge-call";

/**
 * POST /forge/lifecycle — `avi:forge:installed:app` / `avi:forge:upgraded:app`: the installation (a new one, or a
 * reinstall taking over its workspace) and its system token are recorded; nothing else happens. There is no uninstall
 * event: an installation whose hourly tick stops is made inactive after 48 hours.
 */
export function forgeLifecyclePost(deps: ForgeCallDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const { installation } = await verifyForgeCall(req, deps, { lifecycle: true });
    res.status(200).json({ installation: installation.state });
  };
}
