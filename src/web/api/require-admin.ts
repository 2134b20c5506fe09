import type { Request, Response } from "express";
import type { Application } from "../../db/models";
import { adminRefusal } from "../../deployments/actor";
import { forbidden } from "../../http/http-error";
import { unlessBitbucketUnavailable } from "./forge-unavailable";
import { requestActor, type ActorDeps } from "./request-actor";

/**
 * A 403 unless Bitbucket says the person acting administers the application's repository (asked through their own
 * credentials): what changing a restricted environment needs — else anyone could lift the restriction.
 */
export async function requireRepositoryAdmin(deps: ActorDeps, req: Request, res: Response, app: Application, what: string): Promise<void> {
  const refusal = await unlessBitbucketUnavailable(() => adminRefusal(requestActor(deps, req, res, app), what, app.repository));
  if (refusal) throw forbidden(refusal.replace(/ takes deployments from repository admins only/, " can be changed by repository admins only"));
}
