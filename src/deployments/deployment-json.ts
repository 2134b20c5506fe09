import { Op } from "sequelize";
import type { Deployment, DeploymentState, Environment, EnvironmentType, Models } from "../db/models";
import { allowedBranches } from "./environments";

/** A deployment as the JSON API shows it. */
export interface DeploymentJson {
  id: number;
  environment: string;
  buildId: number;
  buildNumber: number;
  /** The deploying step's index in its build (the `:n` of `/api/builds/:id/steps/:n`). */
  step: number;
  commit: string;
  ref: { type: string; name: string };
  state: DeploymentState;
  /** Why it waits or was refused. */
  reason: string | null;
  /** Who started it by hand (account id, uuid or Server username); null when the pipeline did. */
  startedBy: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  commitsSincePrevious: number | null;
  createdAt: Date;
}

export interface EnvironmentJson {
  name: string;
  type: EnvironmentType;
  rank: number;
  restrictions: { branches: string[]; adminsOnly: boolean };
  /** What is deployed there now: its newest deployment that started (running or finished); null when none. */
  current: DeploymentJson | null;
}

export function deploymentJson(d: Deployment, env: Pick<Environment, "name">, buildNumber: number): DeploymentJson {
  return {
    id: d.id,
    environment: env.name,
    buildId: d.buildId,
    buildNumber,
    step: d.stepIndex,
    commit: d.commit,
    ref: { type: d.refType, name: d.refName },
    state: d.state,
    reason: d.reason,
    startedBy: d.startedBy,
    startedAt: d.startedAt,
    finishedAt: d.finishedAt,
    commitsSincePrevious: d.commitsSincePrevious,
    createdAt: d.createdAt,
  };
}

/** Deployments with their build numbers (one query for the numbers). */
export async function deploymentsJson(models: Models, rows: Deployment[], envs: Pick<Environment, "id" | "name">[]): Promise<DeploymentJson[]> {
  const ids = [...new Set(rows.map((d) => d.buildId))];
  const builds = ids.length ? await models.Build.findAll({ where: { id: { [Op.in]: ids } }, attributes: ["id", "number"] }) : [];
  const numbers = new Map(builds.map((b) => [b.id, b.number]));
  const names = new Map(envs.map((e) => [e.id, e]));
  return rows.map((d) => deploymentJson(d, names.get(d.environmentId) ?? { name: "" }, numbers.get(d.buildId) ?? 0));
}

/** States of a deployment that started: what an environment has "now". */
export const STARTED: readonly DeploymentState[] = ["RUNNING", "SUCCESSFUL", "FAILED", "STOPPED"];

/** The application's environments, in order, each with its current deployment. */
export async function environmentsJson(models: Models, envs: Environment[]): Promise<EnvironmentJson[]> {
  const current = await Promise.all(envs.map((e) => models.Deployment.findOne({ where: { environmentId: e.id, state: { [Op.in]: [...STARTED] } }, order: [["id", "DESC"]] })));
  const rows = current.filter((d): d is Deployment => d !== null);
  const json = await deploymentsJson(models, rows, envs);
  const byEnv = new Map(rows.map((d, i) => [d.environmentId, json[i]]));
  return envs.map((e) => ({
    name: e.name,
    type: e.type,
    rank: e.rank,
    restrictions: { branches: allowedBranches(e), adminsOnly: e.adminsOnly },
    current: byEnv.get(e.id) ?? null,
  }));
}
