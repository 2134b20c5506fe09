import { Op } from "sequelize";
import type { Application, Tenant } from "../db/models";
import type { DecisionOutcome } from "../db/models/decision";
import { createBuild, type CreateBuildResult } from "../builds/create-build";
import { pullRequestBuildKey, pushBuildKey } from "../builds/build-key";
import type { EngineContext } from "../builds/engine-context";
import { stopBuild } from "../builds/stop-build";
import type { NormalisedEvent, PullRequestEvent, PushEvent } from "../forges/events";
import type { TaggedCommit } from "../forges/forge";
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
  // Bitbucket Server sends an annotated tag's object id: nothing may use it before it is resolved to the commit.
  const target = e.unresolvedTag ? await resolveTag(ctx, tenant, e) : { commit: e.commit, message: e.headMessage };
  if (!target) {
    return decided("ignored", `tag "${e.refName}" no longer points at ${e.commit.slice(0, 12)}: it was moved or deleted after this push, so there is nothing of it to build`, null, null);
  }
  const { commit } = target;
  const skip = skipCiReason(target.message);
  if (skip) return decided("skipped", skip, null, commit);
  const result = await createBuild(ctx, tenant, app, {
    trigger: "push",
    refType: e.refType,
    refName: e.refName,
    commit,
    selectBy: e.refType === "tag" ? { kind: "tag", tag: e.refName } : { kind: "branch", branch: e.refName },
    buildKey: pushBuildKey(app.id, e.refType, e.refName, commit),
    deliveryId,
    commitMessage: target.message,
    commitAuthor: e.headAuthor ?? null,
    startedBy: e.actor?.displayName ?? null,
  });
  return builtOrNot(result, deliveryId, decided, commit, `${e.refType} "${e.refName}" at ${commit.slice(0, 12)}`, "the same push was delivered again");
}

/** The commit an unresolved tag push names, with its message; null when the tag no longer holds the pushed value. */
async function resolveTag(ctx: EngineContext, tenant: Tenant, e: PushEvent): Promise<TaggedCommit | null> {
  const forge = ctx.forgeFor(tenant);
  if (!forge.resolveTag) throw new Error(`the ${tenant.kind} forge sent tag "${e.refName}" unresolved but cannot resolve tags`);
  return forge.resolveTag(tenant, e.repository.fullName, e.refName, e.commit);
}

/**
 * The decision for what createBuild answered. A build key met again under another delivery made no build: the
 * decision says which build already has that commit (`already-built`) instead of claiming this event built it. The
 * same delivery decided again (a crash before its decisions were stored) finds its own build: that is `built`.
 */
function builtOrNot(result: CreateBuildResult, deliveryId: number, decided: Decided, commit: string, what: string, why: string): EventDecision {
  if (result.outcome === "no-pipeline") return decided("no-pipeline", result.reason, null, commit);
  const { build } = result;
  if (!result.created && build.deliveryId !== deliveryId) {
    return decided("already-built", `${what} was already built by build #${build.number} (${build.pipelineName}): ${why}, nothing new to build`, build.id, commit);
  }
  return decided("built", `build #${build.number} (${build.pipelineName})`, build.id, commit);
}

async function decidePullRequest(ctx: EngineContext, tenant: Tenant, app: Application, e: PullRequestEvent, deliveryId: number, decided: Decided): Promise<EventDecision> {
  const skip = skipCiReason(e.headMessage);
  if (skip) return decided("skipped", skip);
  // Bitbucket Cloud sends 12 characters: nothing may use the hash before it is resolved to the full commit.
  // A pull request within the repository is resolved there by the application's own name (the event may name it by uuid).
  const source = e.sourceRepositoryFullName === e.repository.fullName ? app.repository : e.sourceRepositoryFullName;
  const info = await ctx.forgeFor(tenant).describeCommit(tenant, source, e.sourceCommit);
  if (!info) return decided("invalid", `commit ${e.sourceCommit} of pull request #${e.id} was not found in ${source}`);
  const { commit } = info;
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
    commitMessage: info.message ?? e.headMessage,
    commitAuthor: info.author,
    startedBy: e.actor?.displayName ?? null,
  });
  // An update that leaves the source commit and the destination as they were (Server's pr:modified for a new title
  // or description, or an edit of reviewers) meets the build key of the build already made.
  const why = "the source commit and the destination are unchanged (an edit of the title or description, or the same event delivered again)";
  return builtOrNot(result, deliveryId, decided, commit, `pull request #${e.id} at ${commit.slice(0, 12)} into "${e.destinationBranch}"`, why);
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
