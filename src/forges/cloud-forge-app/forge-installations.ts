import { UniqueConstraintError } from "sequelize";
import type { ForgeInstallation, Models, Tenant } from "../../db/models";
import { unauthorized } from "../../http/http-error";
import type { Logger } from "../../log/logger";
import type { FitClaims } from "./fit/fit-claims";
import { keepNewestToken } from "./system-token";

/** Without the hourly scheduled trigger for this long, the installation is taken to be gone (Forge sends no uninstall). */
export const TICK_SILENCE_MS = 48 * 3600_000;
/** Bitbucket refusing every token for this long makes the installation inactive too. */
export const REFUSED_FOR_MS = 48 * 3600_000;

export interface ForgeInstallationDeps {
  models: Models;
  log: Logger;
  /** Bitbucket Cloud's site (`https://bitbucket.org`): git, and the pages of the app inside Bitbucket. */
  siteUrl: string;
}

export interface InvocationRecord {
  tenant: Tenant;
  installation: ForgeInstallation;
}

/** `forge:<installationId>`: the tenant key of a Forge installation. */
export function forgeClientKey(installationId: string): string {
  return `forge:${installationId}`;
}

/** A Forge tenant's `appKey`: `{app uuid}/{environment key}`, the part of the app's page addresses in Bitbucket. */
export function forgeAppKey(appId: string, environmentKey: string | null): string {
  return `${appId.replace(/^ari:cloud:ecosystem::app\//, "")}/${environmentKey ?? "production"}`;
}

/**
 * Records a verified call from Forge (an event, the hourly tick, a page, the merge check): the installation's tenant
 * (created on first sight, one per installation and workspace), the newest API base URL and, when the call carries
 * one, the app's system token (the newest wins). An installation id not seen before for a workspace that already has
 * one is a reinstall: the new id takes the existing tenant over, with its applications and history. A tick, or a
 * lifecycle event, makes an inactive installation active again.
 */
export async function recordInvocation(deps: ForgeInstallationDeps, claims: FitClaims, systemToken: string | null, opts: { tick?: boolean; lifecycle?: boolean } = {}): Promise<InvocationRecord> {
  const { models } = deps;
  const workspaceUuid = claims.workspaceUuids[0] ?? claims.contextWorkspaceUuid;
  if (!workspaceUuid) throw unauthorized("the invocation token names no workspace (app.installation.contexts)");
  let found = await findOrTakeOver(deps, claims, workspaceUuid);
  if (!found) {
    try {
      found = await create(deps, claims, workspaceUuid);
    } catch (err) {
      if (!(err instanceof UniqueConstraintError)) throw err;
      found = await findOrTakeOver(deps, claims, workspaceUuid);
      if (!found) throw err;
    }
  }
  const { tenant, installation } = found;
  const now = new Date();
  const kept = systemToken ? await keepNewestToken(models, tenant.id, systemToken) : false;
  const changes: Partial<ForgeInstallation> = { lastSeenAt: now, apiBaseUrl: claims.apiBaseUrl };
  if (claims.environmentKey) changes.environmentKey = claims.environmentKey;
  // The tick and the lifecycle events say the installation is there: they (only) bring an inactive one back.
  if (opts.tick || opts.lifecycle) changes.lastTickAt = now;
  if (kept && installation.refusedSince) changes.refusedSince = null;
  if (installation.state === "inactive" && (opts.tick || opts.lifecycle)) {
    changes.state = "active";
    changes.reason = null;
    changes.refusedSince = null;
  }
  await installation.update(changes);
  const appKey = forgeAppKey(claims.appId, installation.environmentKey);
  if (tenant.baseApiUrl !== claims.apiBaseUrl || tenant.appKey !== appKey || (installation.state === "active" && tenant.status !== "active")) {
    await tenant.update({ baseApiUrl: claims.apiBaseUrl, appKey, status: installation.state === "active" ? "active" : tenant.status });
  }
  return { tenant, installation };
}

async function findOrTakeOver(deps: ForgeInstallationDeps, claims: FitClaims, workspaceUuid: string): Promise<InvocationRecord | null> {
  const { models } = deps;
  const mine = await models.ForgeInstallation.findOne({ where: { installationId: claims.installationId } });
  if (mine) {
    const tenant = await models.Tenant.findByPk(mine.tenantId);
    return tenant ? { tenant, installation: mine } : null;
  }
  const earlier = await models.ForgeInstallation.findOne({ where: { workspaceUuid, appId: claims.appId }, order: [["id", "ASC"]] });
  if (!earlier) return null;
  const tenant = await models.Tenant.findByPk(earlier.tenantId);
  if (!tenant) return null;
  // A reinstall: Forge gave the workspace a new installation id. It takes over the tenant, so the workspace keeps
  // its applications, builds and history; the old installation's token is of no use any more.
  await models.sequelize.transaction(async (transaction) => {
    await models.AccessToken.destroy({ where: { tenantId: tenant.id, purpose: "forge-system" }, transaction });
    await earlier.update({ previousInstallationId: earlier.installationId, installationId: claims.installationId, state: "active", reason: null, refusedSince: null, lastTickAt: new Date() }, { transaction });
    await tenant.update({ clientKey: forgeClientKey(claims.installationId), status: "active", installedAt: new Date(), uninstalledAt: null }, { transaction });
  });
  deps.log.info("forge installation reinstalled: the new installation takes over the workspace", { tenant: tenant.id, workspace: workspaceUuid });
  return { tenant, installation: earlier };
}

async function create(deps: ForgeInstallationDeps, claims: FitClaims, workspaceUuid: string): Promise<InvocationRecord> {
  const { models } = deps;
  return models.sequelize.transaction(async (transaction) => {
    const now = new Date();
    const tenant = await models.Tenant.create(
      { kind: "forge", clientKey: forgeClientKey(claims.installationId), appKey: forgeAppKey(claims.appId, claims.environmentKey), status: "active", baseUrl: deps.siteUrl, baseApiUrl: claims.apiBaseUrl, principalUuid: workspaceUuid, principalType: "workspace", installedAt: now },
      { transaction },
    );
    const installation = await models.ForgeInstallation.create(
      {
        tenantId: tenant.id,
        installationId: claims.installationId,
        appId: claims.appId,
        environmentId: claims.environmentId,
        environmentKey: claims.environmentKey,
        workspaceUuid,
        apiBaseUrl: claims.apiBaseUrl,
        state: "active",
        lastSeenAt: now,
        lastTickAt: now,
      },
      { transaction },
    );
    deps.log.info("forge installation recorded", { tenant: tenant.id, workspace: workspaceUuid });
    return { tenant, installation };
  });
}

/**
 * Whether a Forge installation can still act (post statuses): false once the hourly tick has been missing for 48 hours
 * or Bitbucket has refused its tokens for 48 hours. The first time either is seen, the installation and its tenant
 * are marked inactive with the reason (the pages show it; the processor then builds nothing).
 */
export async function installationActive(models: Models, tenant: Tenant, now = Date.now()): Promise<boolean> {
  const inst = await models.ForgeInstallation.findOne({ where: { tenantId: tenant.id } });
  if (!inst) return false;
  if (inst.state === "inactive") return false;
  const lastTick = (inst.lastTickAt ?? inst.createdAt).getTime();
  let reason: string | null = null;
  if (now - lastTick > TICK_SILENCE_MS) reason = `Forge has not called the hourly check-in since ${new Date(lastTick).toISOString()}: the app was probably uninstalled from this workspace`;
  else if (inst.refusedSince && now - inst.refusedSince.getTime() > REFUSED_FOR_MS) reason = `Bitbucket has refused the app's token since ${inst.refusedSince.toISOString()}`;
  if (!reason) return true;
  await models.sequelize.transaction(async (transaction) => {
    await inst.update({ state: "inactive", reason }, { transaction });
    await models.Tenant.update({ status: "inactive", uninstalledAt: new Date(now) }, { where: { id: tenant.id }, transaction });
  });
  return false;
}

/** Remembers what Bitbucket said to the newest token: a 401 starts (or continues) a run of refusals, a 2xx ends it. */
export async function noteTokenAnswer(models: Models, tenantId: number, status: number): Promise<void> {
  if (status === 401) {
    await models.ForgeInstallation.update({ refusedSince: new Date() }, { where: { tenantId, refusedSince: null } });
  } else if (status >= 200 && status < 300) {
    const inst = await models.ForgeInstallation.findOne({ where: { tenantId }, attributes: ["id", "refusedSince"] });
    if (inst?.refusedSince) await models.ForgeInstallation.update({ refusedSince: null }, { where: { tenantId } });
  }
}
