import { Op, UniqueConstraintError } from "sequelize";
import { createBuild } from "../builds/create-build";
import type { EngineContext } from "../builds/engine-context";
import { customPipelineVariables, declaredVariables } from "../builds/start-build";
import type { Application, Delivery, DecisionOutcome, Schedule, Tenant } from "../db/models";
import { checkCron } from "./cron";

/** Schedules looked at per pass. */
const BATCH = 20;

/** `schedule #3 (0 0 2 * * ? * in UTC)`: how the "why did this run" list names a schedule. */
function scheduleName(s: Schedule): string {
  return `schedule #${s.id} (${s.cron} in ${s.timezone})`;
}

async function decide(ctx: EngineContext, s: Schedule, app: Application, delivery: Delivery, outcome: DecisionOutcome, reason: string, commit: string | null, buildId: number | null): Promise<void> {
  await ctx.models.Decision.create({ tenantId: s.tenantId, deliveryId: delivery.id, applicationId: app.id, repository: app.repository, event: "schedule", ref: s.branch, commit, outcome, reason, buildId });
  await ctx.models.Schedule.update(outcome === "built" ? { lastBuildId: buildId, lastError: null } : { lastError: reason }, { where: { id: s.id } });
}

/**
 * One tick of a schedule, claimed by this process: recorded like a delivery (unique per schedule and tick, so a tick
 * can never make two builds) with a decision saying which schedule started what; the branch's head is built with the
 * branch's pipeline or the custom one (its variables at their defaults), trigger `schedule`.
 */
async function fire(ctx: EngineContext, s: Schedule, tick: Date): Promise<void> {
  const { models } = ctx;
  const [tenant, app] = await Promise.all([models.Tenant.findByPk(s.tenantId), models.Application.findByPk(s.applicationId)]);
  if (!app || !tenant) return;
  if (tenant.status !== "active") {
    await models.Schedule.update({ lastError: `not run at ${tick.toISOString()}: Pipelines is not installed in this workspace any more` }, { where: { id: s.id } });
    return;
  }
  let delivery: Delivery;
  try {
    delivery = await models.Delivery.create({
      tenantId: s.tenantId,
      deliveryId: `schedule-${s.id}-${tick.toISOString()}`,
      eventKey: "pipelines:schedule",
      body: JSON.stringify({ schedule: s.id, tick: tick.toISOString(), branch: s.branch, pipeline: s.pipeline, cron: s.cron, timezone: s.timezone }),
      status: "processed",
      processedAt: new Date(),
    });
  } catch (err) {
    if (err instanceof UniqueConstraintError) return; // this tick was fired already
    throw err;
  }
  const what = s.pipeline ? `the custom pipeline "${s.pipeline}" on ${s.branch}` : `the pipeline of ${s.branch}`;
  try {
    await startScheduledBuild(ctx, tenant, app, s, tick, delivery, what);
  } catch (err) {
    await decide(ctx, s, app, delivery, "failed", `${scheduleName(s)} could not start ${what}: ${(err as Error).message}`, null, null);
  }
}

async function startScheduledBuild(ctx: EngineContext, tenant: Tenant, app: Application, s: Schedule, tick: Date, delivery: Delivery, what: string): Promise<void> {
  const commit = await ctx.forgeFor(tenant).resolveCommit(tenant, app.repository, s.branch);
  if (!commit) return decide(ctx, s, app, delivery, "failed", `${scheduleName(s)} could not start ${what}: Bitbucket does not know the branch "${s.branch}"`, null, null);
  let variables: Record<string, string> | undefined;
  if (s.pipeline) {
    const declared = await declaredVariables(ctx, tenant, app, commit, s.pipeline);
    const checked = declared ? customPipelineVariables(s.pipeline, declared, {}) : null;
    if (checked && !checked.ok) return decide(ctx, s, app, delivery, "failed", `${scheduleName(s)} could not start ${what}: ${checked.reason}`, commit, null);
    if (checked?.ok && Object.keys(checked.values).length > 0) variables = checked.values;
  }
  const result = await createBuild(ctx, tenant, app, {
    trigger: "schedule",
    refType: "branch",
    refName: s.branch,
    commit,
    selectBy: s.pipeline ? { kind: "custom", name: s.pipeline } : { kind: "branch", branch: s.branch },
    buildKey: `${app.id}|schedule:${s.id}|${tick.toISOString()}`,
    deliveryId: delivery.id,
    variables,
  });
  if (result.outcome === "no-pipeline") return decide(ctx, s, app, delivery, "no-pipeline", `${scheduleName(s)}: ${result.reason}`, commit, null);
  await decide(ctx, s, app, delivery, "built", `${scheduleName(s)} started ${what} (the tick of ${tick.toISOString()})`, commit, result.build.id);
}

/**
 * Fires the schedules that are due. Each tick is claimed with one conditional UPDATE that moves `next_run_at` from
 * the tick to the next one after now: with several processes on one database exactly one wins it, and after a
 * downtime the missed ticks fire once, not once each. Returns when the next schedule is due (null: none).
 */
export async function fireDueSchedules(ctx: EngineContext, now = new Date()): Promise<Date | null> {
  const { models } = ctx;
  const due = await models.Schedule.findAll({ where: { enabled: true, nextRunAt: { [Op.lte]: now } }, order: [["nextRunAt", "ASC"]], limit: BATCH });
  for (const s of due) {
    const tick = s.nextRunAt;
    if (!tick) continue;
    const checked = checkCron(s.cron, s.timezone);
    const next = checked.ok ? checked.next(now) : null;
    const [claimed] = await models.Schedule.update(
      checked.ok ? { nextRunAt: next, lastRunAt: now } : { nextRunAt: null, enabled: false, lastError: checked.reason },
      { where: { id: s.id, enabled: true, nextRunAt: tick } },
    );
    if (claimed !== 1 || !checked.ok) continue;
    try {
      await fire(ctx, s, tick);
    } catch (err) {
      ctx.log.error("a scheduled pipeline failed to start", { schedule: s.id, error: (err as Error).message });
    }
  }
  if (due.length === BATCH) return now;
  const soonest = await models.Schedule.findOne({ where: { enabled: true, nextRunAt: { [Op.ne]: null } }, order: [["nextRunAt", "ASC"]], attributes: ["nextRunAt"] });
  return soonest?.nextRunAt ?? null;
}
