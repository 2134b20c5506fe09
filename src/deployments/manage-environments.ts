import { Op, type Transaction } from "sequelize";
import type { Application, Environment, Models } from "../db/models";
import { conflict } from "../http/http-error";
import { lockApplicationDeployments } from "./application-lock";
import type { EnvironmentInput } from "./environment-input";
import { environmentKey, findEnvironment, listEnvironments } from "./environments";

/** Puts `moved` at position `rank` (clamped) and numbers the application's environments 0, 1, 2… again. */
async function reorder(models: Models, app: Application, moved: Environment, rank: number, tx: Transaction): Promise<void> {
  const others = (await listEnvironments(models, app.id, tx)).filter((e) => e.id !== moved.id);
  others.splice(Math.min(Math.max(rank, 0), others.length), 0, moved);
  for (const [i, e] of others.entries()) if (e.rank !== i || e.id === moved.id) await e.update({ rank: i }, { transaction: tx });
}

/** Adds an environment (at the end, or at `rank`). 409 when the name is taken (case-insensitively). */
export async function createEnvironment(models: Models, app: Application, input: EnvironmentInput): Promise<Environment> {
  const name = input.name ?? "";
  return models.sequelize.transaction(async (tx) => {
    await lockApplicationDeployments(models, app.id, tx);
    if (await findEnvironment(models, app.id, name, tx)) throw conflict(`${app.repository} already has an environment named ${name}`);
    const count = await models.Environment.count({ where: { applicationId: app.id }, transaction: tx });
    const env = await models.Environment.create(
      {
        tenantId: app.tenantId,
        applicationId: app.id,
        name,
        nameKey: environmentKey(name),
        type: input.type ?? "test",
        rank: count,
        branches: input.branches ? JSON.stringify(input.branches) : null,
        adminsOnly: input.adminsOnly ?? false,
      },
      { transaction: tx },
    );
    if (input.rank !== undefined && input.rank < count) await reorder(models, app, env, input.rank, tx);
    return env;
  });
}

/** Renames, re-types, moves or restricts an environment. A rename keeps its history and variables. */
export async function updateEnvironment(models: Models, app: Application, env: Environment, input: EnvironmentInput): Promise<Environment> {
  return models.sequelize.transaction(async (tx) => {
    await lockApplicationDeployments(models, app.id, tx);
    if (input.name !== undefined && environmentKey(input.name) !== env.nameKey) {
      if (await findEnvironment(models, app.id, input.name, tx)) throw conflict(`${app.repository} already has an environment named ${input.name}`);
    }
    await env.update(
      {
        ...(input.name !== undefined ? { name: input.name, nameKey: environmentKey(input.name) } : {}),
        ...(input.type !== undefined ? { type: input.type } : {}),
        ...(input.branches !== undefined ? { branches: input.branches ? JSON.stringify(input.branches) : null } : {}),
        ...(input.adminsOnly !== undefined ? { adminsOnly: input.adminsOnly } : {}),
      },
      { transaction: tx },
    );
    if (input.rank !== undefined) await reorder(models, app, env, input.rank, tx);
    return env.reload({ transaction: tx });
  });
}

/** Removes an environment with its variables and history; refused (409) while a deployment to it runs or waits. */
export async function deleteEnvironment(models: Models, app: Application, env: Environment): Promise<void> {
  await models.sequelize.transaction(async (tx) => {
    await lockApplicationDeployments(models, app.id, tx);
    const busy = await models.Deployment.findOne({ where: { environmentId: env.id, state: { [Op.in]: ["RUNNING", "WAITING"] } }, transaction: tx });
    if (busy) {
      const build = await models.Build.findByPk(busy.buildId, { attributes: ["number"], transaction: tx });
      throw conflict(`${env.name} cannot be removed while build #${build?.number ?? "?"} ${busy.state === "RUNNING" ? "is deploying to it" : "waits to deploy to it"}`);
    }
    await models.StepLock.destroy({ where: { applicationId: app.id, lockKey: `environment:${env.id}` }, transaction: tx });
    await env.destroy({ transaction: tx });
    const rest = await listEnvironments(models, app.id, tx);
    for (const [i, e] of rest.entries()) if (e.rank !== i) await e.update({ rank: i }, { transaction: tx });
  });
}
