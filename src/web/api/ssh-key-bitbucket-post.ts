import type { Request, Response } from "express";
import type { Models } from "../../db/models";
import { badRequest, HttpError } from "../../http/http-error";
import { tenantAuthOf } from "../../http/tenant-auth";
import type { CloudApiDeps } from "./cloud-api-deps";
import { addSshKeyToBitbucket } from "../../tenants/ssh-key-bitbucket";

/**
 * POST /api/ssh-key/bitbucket — "Add to my Bitbucket account" on the configure page (context token): adds the
 * workspace's public key to the account of the user the token names (`sub`). Answers what happened in words the
 * page shows as they are: 201 added, 200 already there, 403 a missing scope, 409 on another account, 502 any other
 * answer of Bitbucket (its own message) or Bitbucket unreachable.
 */
export function sshKeyBitbucketPost(models: Models, cloud: CloudApiDeps) {
  return async (_req: Request, res: Response) => {
    const { tenant, user: actor } = tenantAuthOf(res);
    const user = (actor ?? "").trim();
    if (!user) throw badRequest("this action needs a signed-in Bitbucket user (the context token names none)");
    const result = await addSshKeyToBitbucket(models, tenant, user, cloud.callerFor(tenant));
    switch (result.outcome) {
      case "added":
        res.status(201).json({ result: "added", message: "Added the Pipelines SSH key to your Bitbucket account." });
        return;
      case "already-added":
        res.status(200).json({ result: "already-added", message: "The Pipelines SSH key is already on your Bitbucket account." });
        return;
      case "missing-scope":
        throw new HttpError(403, result.message);
      case "other-account":
        throw new HttpError(409, `Bitbucket refused the key: ${result.message} A key can be on one Bitbucket account only; remove it there first.`);
      case "bitbucket-error":
        throw new HttpError(502, `Bitbucket refused the key (HTTP ${result.status}): ${result.message}`);
      case "unreachable":
        throw new HttpError(502, `${result.message}. Try again later.`);
    }
  };
}
