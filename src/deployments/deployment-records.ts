import { Op, type Transaction } from "sequelize";
import type { Build, Deployment, DeploymentState, Environment, Models, StepState } from "../db/models";

/** The deployment of a build's step still going on (WAITING or RUNNING), if any. */
export function openDeployment(models: Models, buildId: number, stepIndex: number, tx?: Transaction): Promise<Deployment | null> {
  return models.Deployment.findOne({ where: { buildId, stepIndex, state: { [Op.in]: ["WAITING", "RUNNING"] } }, order: [["id", "DESC"]], transaction: tx });
}

/** Updates the step's open deployment, or records a new one. */
export async function recordDeployment(
  models: Models,
  build: Build,
  env: Environment,
  stepIndex: number,
  fields: { state: DeploymentState; reason?: string | null; startedAt?: Date; finishedAt?: Date; startedBy?: string | null; adminApproved?: boolean },
  tx: Transaction,
): Promise<Deployment> {
  const open = await openDeployment(models, build.id, stepIndex, tx);
  if (open) return open.update({ environmentId: env.id, ...fields }, { transaction: tx });
  return models.Deployment.create(
    {
      tenantId: build.tenantId,
      applicationId: build.applicationId,
      environmentId: env.id,
      buildId: build.id,
      stepIndex,
      commit: build.commit,
      refType: build.refType,
      refName: build.refName,
      ...fields,
    },
    { transaction: tx },
  );
}

/** How a deployment ended, by how its step ended; null while the step may still run (or "SKIPPED": it deployed nothing). */
export function endOf(step: StepState): DeploymentState | "SKIPPED" | null {
  switch (step) {
    case "SUCCESSFUL":
      return "SUCCESSFUL";
    case "FAILED":
    case "TIMED_OUT":
      return "FAILED";
    case "STOPPED":
    case "NOT_RUN":
      return "STOPPED";
    case "REFUSED":
      return "REFUSED";
    case "SKIPPED":
      return "SKIPPED";
    default:
      return null;
  }
}

/** Whether a step can no longer run in its build (its rows in step_locks are then released). */
export function stepIsOver(state: StepState): boolean {
  return endOf(state) !== null;
}
