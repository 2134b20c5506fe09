import type { Transaction } from "sequelize";
import type { Build, Environment, Models } from "../db/models";
import { matchGlob } from "../pipelines";

/** How names are compared: `deployment: staging` names the environment "Staging". */
export function environmentKey(name: string): string {
  return name.trim().toLowerCase();
}

/** The application's environment named `name` (case-insensitively), or null. */
export function findEnvironment(models: Models, applicationId: number, name: string, tx?: Transaction): Promise<Environment | null> {
  return models.Environment.findOne({ where: { applicationId, nameKey: environmentKey(name) }, transaction: tx });
}

/** The application's environments in their order (Test, Staging, Production…). */
export function listEnvironments(models: Models, applicationId: number, tx?: Transaction): Promise<Environment[]> {
  return models.Environment.findAll({ where: { applicationId }, order: [["rank", "ASC"], ["id", "ASC"]], transaction: tx });
}

/** The branch globs allowed to deploy to `env`; empty: any branch. */
export function allowedBranches(env: Environment): string[] {
  if (!env.branches) return [];
  try {
    const list = JSON.parse(env.branches) as unknown;
    return Array.isArray(list) ? list.filter((b): b is string => typeof b === "string") : [];
  } catch {
    return [];
  }
}

/**
 * Why `build` may not deploy to `env` because of its branch restriction, or null when it may. A pull request
 * deploys from its source branch; a tag, or a build of a bare commit, is on no branch.
 */
export function branchRefusal(env: Environment, build: Pick<Build, "refType" | "refName">): string | null {
  const globs = allowedBranches(env);
  if (globs.length === 0) return null;
  const allowed = globs.map((g) => `"${g}"`).join(", ");
  if (build.refType === "tag") return `${env.name} accepts deployments from the branches ${allowed} only, and this build is of the tag "${build.refName}"`;
  if (!build.refName) return `${env.name} accepts deployments from the branches ${allowed} only, and this build is of a commit on no branch`;
  if (globs.some((g) => matchGlob(g, build.refName))) return null;
  return `${env.name} accepts deployments from the branches ${allowed} only, not from "${build.refName}"`;
}

/** Why a step names an environment the application does not have, and what to do about it. */
export function unknownEnvironmentMessage(name: string, repository: string, known: Environment[]): string {
  const names = known.map((e) => e.name).join(", ") || "none";
  return `the deployment environment "${name}" does not exist in ${repository} (its environments: ${names}); add it on the Deployments settings of the repository (or with POST /api/applications/:id/environments), or change deployment: in bitbucket-pipelines.yml`;
}
