import { Op, type Transaction } from "sequelize";
import type { Environment, Models, StepLock } from "../db/models";
import { FINAL_BUILD_STATES } from "../db/models/build";
import type { StepPlan } from "../pipelines";

/** What a step must hold to run: its environment, its concurrency group (each at most one step of the application at a time). */
export interface LockRequest {
  key: string;
  label: string;
}

export interface StepRef {
  buildId: number;
  stepIndex: number;
}

const same = (a: StepRef, b: StepRef) => a.buildId === b.buildId && a.stepIndex === b.stepIndex;
const refKey = (r: StepRef) => `${r.buildId}:${r.stepIndex}`;

/** The keys `step` needs: `environment:<id>` when it deploys, `group:<name>` with a concurrency-group. */
export function lockRequests(env: Environment | null, step: StepPlan): LockRequest[] {
  const out: LockRequest[] = [];
  if (env) out.push({ key: `environment:${env.id}`, label: env.name });
  if (step.concurrencyGroup) out.push({ key: `group:${step.concurrencyGroup}`, label: `the concurrency group "${step.concurrencyGroup}"` });
  return out;
}

/**
 * Lets waiting steps of the application hold what they wait for, oldest first: a step gets all its keys at once
 * when none is held by another step and no step that waited longer wants one of them (in order, never around the
 * queue). Rows still held by a build that has ended are released first (a process stopped before it released them).
 * Returns the steps that hold their keys now and did not before. Run under lockApplicationDeployments.
 */
export async function grantWaiting(models: Models, applicationId: number, tx: Transaction): Promise<StepRef[]> {
  const held = await models.StepLock.findAll({ where: { applicationId, state: "held" }, transaction: tx });
  if (held.length > 0) {
    const ended = await models.Build.findAll({ where: { id: { [Op.in]: [...new Set(held.map((l) => l.buildId))] }, state: { [Op.in]: [...FINAL_BUILD_STATES] } }, attributes: ["id"], transaction: tx });
    if (ended.length > 0) await models.StepLock.destroy({ where: { applicationId, buildId: { [Op.in]: ended.map((b) => b.id) } }, transaction: tx });
  }
  const rows = await models.StepLock.findAll({ where: { applicationId }, order: [["id", "ASC"]], transaction: tx });
  const holder = new Map<string, string>();
  for (const r of rows) if (r.state === "held") holder.set(r.lockKey, refKey(r));
  const groups = new Map<string, StepLock[]>();
  for (const r of rows) {
    const k = refKey(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const blocked = new Set<string>();
  const granted: StepRef[] = [];
  for (const [k, g] of groups) {
    if (g.every((r) => r.state === "held")) continue;
    const free = g.every((r) => (!holder.has(r.lockKey) || holder.get(r.lockKey) === k) && !blocked.has(r.lockKey));
    if (!free) {
      for (const r of g) blocked.add(r.lockKey);
      continue;
    }
    await models.StepLock.update({ state: "held" }, { where: { id: { [Op.in]: g.map((r) => r.id) } }, transaction: tx });
    for (const r of g) holder.set(r.lockKey, k);
    granted.push({ buildId: g[0].buildId, stepIndex: g[0].stepIndex });
  }
  return granted;
}

/** What a step that cannot have its keys waits behind, in words ("build #12 is deploying to Staging"). */
export async function blockerReason(models: Models, step: StepRef & { applicationId: number }, tx?: Transaction): Promise<string> {
  const mine = await models.StepLock.findAll({ where: { buildId: step.buildId, stepIndex: step.stepIndex }, transaction: tx });
  const keys = mine.map((r) => r.lockKey);
  const others = (await models.StepLock.findAll({ where: { applicationId: step.applicationId, lockKey: { [Op.in]: keys } }, order: [["id", "ASC"]], transaction: tx })).filter((r) => !same(r, step));
  const firstMine = Math.min(...mine.map((r) => r.id));
  const blocker = others.find((r) => r.state === "held") ?? others.find((r) => r.id < firstMine);
  if (!blocker) return "waiting for its turn";
  const build = await models.Build.findByPk(blocker.buildId, { attributes: ["number"], transaction: tx });
  const who = build ? `build #${build.number}` : "another build";
  const environment = blocker.lockKey.startsWith("environment:");
  if (blocker.state === "held") return environment ? `waiting: ${who} is deploying to ${blocker.label}` : `waiting: ${who} is running a step of ${blocker.label}`;
  return `waiting: ${who} waits for ${blocker.label} first`;
}

/** Deletes a step's rows (what it held and what it waited for). */
export async function releaseStep(models: Models, step: StepRef, tx: Transaction): Promise<void> {
  await models.StepLock.destroy({ where: { buildId: step.buildId, stepIndex: step.stepIndex }, transaction: tx });
}
