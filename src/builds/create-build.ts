import { UniqueConstraintError, type Transaction } from "sequelize";
import type { Application, Build, Tenant } from "../db/models";
import type { BuildRefType, BuildTrigger } from "../db/models/build";
import { DEFAULT_PIPELINE_FILE, formatDiagnostic, type Plan, type Trigger } from "../pipelines";
import { queueCommitStatus } from "./commit-status";
import type { EngineContext } from "./engine-context";
import { supersedeOlderBuilds } from "./stop-build";
import { jobRunsOn } from "../queue/job-labels";

/** What to build: the ref and commit, what started it, and the key that makes it unique. */
export interface BuildTarget {
  trigger: BuildTrigger;
  refType: BuildRefType;
  refName: string;
  commit: string;
  pullRequestId?: number;
  destinationBranch?: string;
  /** How the pipeline is chosen from the file. */
  selectBy: Trigger;
  buildKey: string;
  deliveryId?: number;
  /** Variables of a custom pipeline started by hand. */
  variables?: Record<string, string>;
  rerunOf?: number;
  /** The commit's message and author, when the event or Bitbucket said. */
  commitMessage?: string | null;
  commitAuthor?: string | null;
  /** Who started it: the pusher, the person who pressed Build now or Re-run. */
  startedBy?: string | null;
}

/** What a build keeps of a commit message: enough for its first line and more, never a whole novel. */
const MESSAGE_KEPT = 1000;

export type CreateBuildResult = { outcome: "built"; build: Build; created: boolean } | { outcome: "no-pipeline"; reason: string };

/** A build that cannot run: the file is missing or broken. Its one step's log says exactly what is wrong. */
interface BrokenFile {
  kind: "broken";
  reason: string;
  log: string;
}

interface Runnable {
  kind: "runnable";
  name: string;
  key: string;
  plan: Plan;
  warnings: string[];
}

function describeTrigger(t: Trigger): string {
  switch (t.kind) {
    case "branch":
      return `branch "${t.branch}"`;
    case "tag":
      return `tag "${t.tag}"`;
    case "pull-request":
      return `a pull request from "${t.sourceBranch}" to "${t.destinationBranch}"`;
    case "custom":
      return `custom pipeline "${t.name}"`;
  }
}

/** Reads, validates and plans the pipeline file at the target commit. */
async function pipelineFor(ctx: EngineContext, tenant: Tenant, app: Application, target: BuildTarget): Promise<BrokenFile | Runnable | { kind: "none"; reason: string }> {
  const text = await ctx.forgeFor(tenant).readFile(tenant, app.repository, target.commit, DEFAULT_PIPELINE_FILE);
  const at = `commit ${target.commit.slice(0, 12)}`;
  if (text === null) {
    const reason = `${DEFAULT_PIPELINE_FILE} was not found at ${at}`;
    return { kind: "broken", reason, log: `${reason}.\nAdd a ${DEFAULT_PIPELINE_FILE} at the root of the repository to build it.\n` };
  }
  // The file is a stranger's: it is read off the event loop, within limits and a time budget.
  const checked = await ctx.pipelineFiles.check({ text, triggers: [target.selectBy] });
  const warnings = checked.warnings.map((d) => formatDiagnostic(d, DEFAULT_PIPELINE_FILE, "warning"));
  if (!checked.ok) {
    const errors = checked.errors.map((d) => formatDiagnostic(d, DEFAULT_PIPELINE_FILE, "error"));
    const first = errors[0] ?? `${DEFAULT_PIPELINE_FILE} is not valid`;
    return { kind: "broken", reason: first, log: `${DEFAULT_PIPELINE_FILE} at ${at} cannot be run:\n${[...errors, ...warnings].join("\n")}\n` };
  }
  const selected = checked.selections[0];
  if (!selected) {
    const why = target.selectBy.kind === "tag" || target.selectBy.kind === "pull-request" ? "" : " and there is no default pipeline";
    return { kind: "none", reason: `no pipeline in ${DEFAULT_PIPELINE_FILE} matches ${describeTrigger(target.selectBy)}${target.selectBy.kind === "branch" ? why : ""}` };
  }
  const plan = selected.plan;
  if (plan.steps.length === 0) {
    const reason = `pipeline "${selected.name}" has no step this runner can run`;
    return { kind: "broken", reason, log: `${reason}:\n${[...plan.warnings, ...warnings].join("\n")}\n` };
  }
  return { kind: "runnable", name: selected.name, key: selected.key, plan, warnings: [...warnings, ...plan.warnings] };
}

/** The next build number of an application, taken in the caller's transaction (the row is locked until it ends). */
export async function allocateBuildNumber(ctx: EngineContext, app: Application, tx: Transaction): Promise<number> {
  await ctx.models.Application.increment("buildCounter", { by: 1, where: { id: app.id }, transaction: tx });
  const fresh = await ctx.models.Application.findByPk(app.id, { attributes: ["buildCounter"], transaction: tx });
  if (!fresh) throw new Error(`application ${app.id} was deleted`);
  return fresh.buildCounter;
}

/**
 * Makes the build for `target`, exactly once: reads the pipeline file at the commit (outside any transaction:
 * it is a call to Bitbucket), then in one transaction records the build with its steps, its job in the queue
 * and its first commit status, and stops older builds of the same ref when the application auto-cancels.
 * A missing or broken file makes a FAILED build whose log names the line and the problem; no matching pipeline
 * makes no build. If `target.buildKey` was already built, that build is returned (`created: false`).
 *
 * @throws ForgeUnavailableError when Bitbucket cannot answer now (the caller retries later).
 */
export async function createBuild(ctx: EngineContext, tenant: Tenant, app: Application, target: BuildTarget): Promise<CreateBuildResult> {
  const { models } = ctx;
  const existing = await models.Build.findOne({ where: { tenantId: tenant.id, buildKey: target.buildKey } });
  if (existing) return { outcome: "built", build: existing, created: false };

  const pipeline = await pipelineFor(ctx, tenant, app, target);
  if (pipeline.kind === "none") return { outcome: "no-pipeline", reason: pipeline.reason };

  const base =
    target.refType === "pull-request"
      ? null
      : await models.Build.findOne({
          where: { applicationId: app.id, refType: target.refType, refName: target.refName, state: "SUCCESSFUL" },
          order: [["id", "DESC"]],
          attributes: ["commit"],
        });

  const forge = ctx.forgeFor(tenant);
  try {
    const build = await models.sequelize.transaction(async (tx) => {
      const number = await allocateBuildNumber(ctx, app, tx);
      const common = {
        tenantId: tenant.id,
        applicationId: app.id,
        number,
        buildKey: target.buildKey,
        trigger: target.trigger,
        refType: target.refType,
        refName: target.refName,
        commit: target.commit,
        pullRequestId: target.pullRequestId ?? null,
        destinationBranch: target.destinationBranch ?? null,
        deliveryId: target.deliveryId ?? null,
        variables: target.variables ? JSON.stringify(target.variables) : null,
        rerunOf: target.rerunOf ?? null,
        commitMessage: target.commitMessage ? target.commitMessage.slice(0, MESSAGE_KEPT) : null,
        commitAuthor: target.commitAuthor ? target.commitAuthor.slice(0, 255) : null,
        startedBy: target.startedBy ? target.startedBy.slice(0, 255) : null,
      };
      if (pipeline.kind === "broken") {
        const now = new Date();
        const b = await models.Build.create(
          { ...common, pipelineName: DEFAULT_PIPELINE_FILE, pipelineKey: "file", state: "FAILED", stateReason: pipeline.reason, startedAt: now, finishedAt: now },
          { transaction: tx },
        );
        const data = Buffer.from(pipeline.log);
        const step = await models.Step.create(
          { tenantId: tenant.id, buildId: b.id, index: 0, name: "Pipeline file", state: "FAILED", manual: false, logBytes: data.length, startedAt: now, finishedAt: now },
          { transaction: tx },
        );
        await models.LogChunk.create({ stepId: step.id, offset: 0, data, createdAt: now }, { transaction: tx });
        await queueCommitStatus(models, b, app.repository, forge.buildPageUrl(tenant, app.repository, b), "FAILED", pipeline.reason, tx);
        return b;
      }
      const b = await models.Build.create(
        {
          ...common,
          pipelineName: pipeline.name,
          pipelineKey: pipeline.key,
          state: "QUEUED",
          plan: JSON.stringify(pipeline.plan),
          warnings: pipeline.warnings.length ? JSON.stringify(pipeline.warnings) : null,
          baseCommit: base && base.commit !== target.commit ? base.commit : null,
        },
        { transaction: tx },
      );
      await models.Step.bulkCreate(
        pipeline.plan.steps.map((s) => ({ tenantId: tenant.id, buildId: b.id, index: s.index, name: s.name, state: "PENDING" as const, manual: s.manual, deployment: s.deployment ?? null })),
        { transaction: tx },
      );
      await models.Job.create({ tenantId: tenant.id, buildId: b.id, startStep: 0, state: "queued", runsOn: jobRunsOn(pipeline.plan, 0) }, { transaction: tx });
      await queueCommitStatus(models, b, app.repository, forge.buildPageUrl(tenant, app.repository, b), "INPROGRESS", "queued", tx);
      if (app.autoCancel && (target.trigger === "push" || target.trigger === "pull-request")) await supersedeOlderBuilds(ctx, tenant, app, b, tx);
      return b;
    });
    ctx.notify?.jobQueued?.();
    ctx.notify?.statusQueued?.();
    return { outcome: "built", build, created: true };
  } catch (err) {
    if (err instanceof UniqueConstraintError) {
      const again = await models.Build.findOne({ where: { tenantId: tenant.id, buildKey: target.buildKey } });
      if (again) return { outcome: "built", build: again, created: false };
    }
    throw err;
  }
}
