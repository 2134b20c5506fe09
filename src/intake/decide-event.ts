import { Op } from "sequelize";
import type { Application, Tenant } from "../db/models";
import type { DecisionOutcome } from "../db/models/decision";
import { createBuild } from "../builds/create-build";
import { pullRequestBuildKey, pushBuildKey } from "../builds/build-key";
import type { EngineContext } from "../builds/engine-context";
import { stopBuild } from "../builds/stop-build";
import type { NormalisedEvent, PullRequestEvent, PushEvent } from "../forges/events";
import { skipCiReason } from "../forges/skip-ci";
import { matchGlob } from "../pipelines";

/** One row of "why did / didn't this run". */
export interface EventDecision {
  applicationId: number | null;
  repository: string;
  ref: string | null;
  commit: string | null;
  outcome: DecisionOutcome;
  reason: string;
  buildId: number | null;
}

function refLabel(e: NormalisedEvent): string {
  return e.kind === "push" ? `${e.refType}:${e.refName}` : `pull-request:${e.id}`;
}

/** Decides what one normalised event leads to, and makes the build when it leads to one. */
export async function decideEvent(ctx: EngineContext, tenant: Tenant, event: NormalisedEvent, deliveryId: number): Promise<EventDecision> {
  const base = { repository: event.repository.fullName, ref: refLabel(event), commit: event.kind === "push" ? event.commit : event.sourceCommit };
  const app = await eventApplication(ctx, tenant, event);
  if (!app) return { ...base, applicationId: null, outcome: "not-an-application", reason: `${event.repository.fullName} is not an application in Pipelines`, buildId: null };
  const decided: Decided = (outcome, reason, buildId = null, commit = base.commit) => ({
    ...base,
    repository: app.repository,
    commit,
    applicationId: app.id,
    outcome,
    reason,
    buildId,
  });
  if (event.kind === "pull-request" && (event.action === "fulfilled" || event.action === "rejected")) {
    return stopPullRequestBuilds(ctx, tenant, app, event, decided);
  }
  if (!app.autoBuild) return decided("auto-build-off", "auto-build is off for this application");
  return event.kind === "push" ? decidePush(ctx, tenant, app, event, deliveryId, decided) : decidePullRequest(ctx, tenant, app, event, deliveryId, decided);
}

/**
 * The application an event is about: by the repository's full name, else by its uuid (a repository renamed since it
 * became an application keeps its uuid; Forge's events name repositories by uuid only).
 */
async function eventApplication(ctx: EngineContext, tenant: Tenant, event: NormalisedEvent): Promise<Application | null> {
  const byName = await ctx.models.Application.findOne({ where: { tenantId: tenant.id, repository: event.repository.fullName } });
  if (byName || !event.repository.uuid) return byName;
  return ctx.models.Application.findOne({ where: { tenantId: tenant.id, repositoryUuid: event.repository.uuid } });
}

type Decided = (outcome: DecisionOutcome, reason: string, buildId?: number | null, commit?: string | null) => EventDecision;

async function decidePush(ctx: EngineContext, tenant: Tenant, app: Application, e: PushEvent, deliveryId: number, decided: Decided): Promise<EventDecision> {
  if (e.refType === "branch" && app.branchFilter && !matchGlob(app.branchFilter, e.refName)) {
    return decided("branch-filter", `branch "${e.refName}" does not match the application's branch filter "${app.branchFilter}"`);
  }
  const skip = skipCiReason(e.headMessage);
  if (skip) return decided("skipped", skip);
  const result = await createBuild(ctx, tenant, app, {
    trigger: "push",
    refType: e.refType,
    refName: e.refName,
    commit: e.commit,
    selectBy: e.refType === "tag" ? { kind: "tag", tag: e.refName } : { kind: "branch", branch: e.refName },
    buildKey: pushBuildKey(app.id, e.refType, e.refName, e.commit),
    deliveryId,
  });
  if (result.outcome === "no-pipeline") return decided("no-pipeline", result.reason);
  return decided("built", `build #${result.build.number} (${result.build.pipelineName})`, result.build.id);
}

async function decidePullRequest(ctx: EngineContext, tenant: Tenant, app: Application, e: PullRequestEvent, deliveryId: number, decided: Decided): Promise<EventDecision> {
  const skip = skipCiReason(e.headMessage);
  if (skip) return decided("skipped", skip);
  // Bitbucket Cloud sends 12 characters: nothing may use the hash before it is resolved to the full commit.
  // A pull request within the repository is resolved there by the application's own name (the event may name it by uuid).
  const source = e.sourceRepositoryFullName === e.repository.fullName ? app.repository : e.sourceRepositoryFullName;
  const commit = await ctx.forgeFor(tenant).resolveCommit(tenant, source, e.sourceCommit);
  if (!commit) return decided("invalid", `commit ${e.sourceCommit} of pull request #${e.id} was not found in ${source}`);
  const result = await createBuild(ctx, tenant, app, {
    trigger: "pull-request",
    refType: "pull-request",
    refName: e.sourceBranch,
    commit,
    pullRequestId: e.id,
    destinationBranch: e.destinationBranch,
    selectBy: { kind: "pull-request", sourceBranch: e.sourceBranch, destinationBranch: e.destinationBranch },
    buildKey: pullRequestBuildKey(app.id, e.id, commit, e.destinationBranch),
    deliveryId,
  });
  if (result.outcome === "no-pipeline") return decided("no-pipeline", result.reason, null, commit);
  return decided("built", `build #${result.build.number} (${result.build.pipelineName})`, result.build.id, commit);
}

/** A merged or declined pull request: its queued builds are pointless. */
async function stopPullRequestBuilds(ctx: EngineContext, tenant: Tenant, app: Application, e: PullRequestEvent, decided: Decided): Promise<EventDecision> {
  const verb = e.action === "fulfilled" ? "merged" : "declined";
  const queued = await ctx.models.Build.findAll({ where: { applicationId: app.id, pullRequestId: e.id, refType: "pull-request", state: { [Op.in]: ["QUEUED"] } } });
  let stopped = 0;
  for (const build of queued) {
    if (await ctx.models.sequelize.transaction((tx) => stopBuild(ctx, tenant, app, build, `pull request #${e.id} was ${verb}`, tx))) stopped++;
  }
  if (stopped > 0) ctx.notify?.statusQueued?.();
  return decided("stopped", `pull request #${e.id} was ${verb}: ${stopped} queued build${stopped === 1 ? "" : "s"} stopped`);
}
