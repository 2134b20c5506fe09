import type { Request } from "express";
import { orUnavailable } from "./accept-delivery";
import type { FitClaims } from "../forges/cloud-forge-app/fit/fit-claims";
import type { FitVerifier } from "../forges/cloud-forge-app/fit/verify-fit";
import { recordInvocation, type ForgeInstallationDeps, type InvocationRecord } from "../forges/cloud-forge-app/forge-installations";

export interface ForgeCallDeps extends ForgeInstallationDeps {
  verify: FitVerifier;
}

export interface ForgeCall extends InvocationRecord {
  claims: FitClaims;
}

/** The header Forge puts the app's system token in (endpoint `auth.appSystemToken.enabled`). */
export const SYSTEM_TOKEN_HEADER = "x-forge-oauth-system";

/**
 * The first step of every route Forge calls: verify the invocation token (401 otherwise; nothing is stored), then
 * record the installation and keep the system token the call carries when it is the newest. A database that cannot
 * answer is a 503, so Forge retries.
 */
export async function verifyForgeCall(req: Request, deps: ForgeCallDeps, opts: { tick?: boolean; lifecycle?: boolean } = {}): Promise<ForgeCall> {
  const claims = await deps.verify(req);
  const token = req.get(SYSTEM_TOKEN_HEADER);
  const record = await orUnavailable(() => recordInvocation(deps, claims, token && token.length < 16_384 ? token : null, opts));
  return { ...record, claims };
}
