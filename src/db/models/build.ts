import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

/**
 * QUEUED: waiting for a runner; RUNNING: a runner has it; PAUSED: every step so far passed and the next one waits
 * for a person (`trigger: manual`); SUCCESSFUL / FAILED / STOPPED: final. SKIPPED is kept for builds recorded but
 * not run.
 */
export type BuildState = "QUEUED" | "RUNNING" | "PAUSED" | "SUCCESSFUL" | "FAILED" | "STOPPED" | "SKIPPED";
export const FINAL_BUILD_STATES: readonly BuildState[] = ["SUCCESSFUL", "FAILED", "STOPPED", "SKIPPED"];
/** `schedule`: a scheduled pipeline's tick; `redeploy`: an earlier build's deployment step run again (a rollback). */
export type BuildTrigger = "push" | "pull-request" | "manual" | "rerun" | "schedule" | "redeploy";
export type BuildRefType = "branch" | "tag" | "pull-request";

export interface BuildAttributes {
  id: number;
  tenantId: number;
  applicationId: number;
  /** 1, 2, 3… per application. */
  number: number;
  /** Unique per tenant: what makes a second build for the same thing impossible (see build-key.ts). */
  buildKey: string;
  trigger: BuildTrigger;
  refType: BuildRefType;
  /** Branch or tag name; for a pull request, its source branch. */
  refName: string;
  commit: string;
  pullRequestId: number | null;
  destinationBranch: string | null;
  /** For people: `branches: main`, `default`, `custom: deploy`, or `bitbucket-pipelines.yml` when the file is broken. */
  pipelineName: string;
  pipelineKey: string;
  state: BuildState;
  /** Why it ended as it did, for people (`step "Test" failed with exit code 1`, `superseded by #12`). */
  stateReason: string | null;
  /** JSON of the Plan the runner executes. */
  plan: string | null;
  /** JSON string[] of what the pipeline file or the runner cannot honour. */
  warnings: string | null;
  /** JSON of the custom pipeline's variables given when it was started by hand. */
  variables: string | null;
  /** The commit of the last successful build of the same ref, for `condition.changesets`. */
  baseCommit: string | null;
  deliveryId: number | null;
  rerunOf: number | null;
  /** The commit's message (its first 1,000 characters), when the event or Bitbucket gave it. */
  commitMessage: string | null;
  /** Who wrote the commit, as Bitbucket names them, when known. */
  commitAuthor: string | null;
  /** Who started the build: the pusher of a push, the person who pressed Build now or Re-run; null when not known. */
  startedBy: string | null;
  /** How many times a lost runner made it start over. */
  retries: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<
  BuildAttributes,
  | "id"
  | "pullRequestId"
  | "destinationBranch"
  | "stateReason"
  | "plan"
  | "warnings"
  | "variables"
  | "baseCommit"
  | "deliveryId"
  | "rerunOf"
  | "commitMessage"
  | "commitAuthor"
  | "startedBy"
  | "retries"
  | "startedAt"
  | "finishedAt"
  | "createdAt"
  | "updatedAt"
>;

/** One run of an application's pipeline for one commit. */
export interface Build extends Model<BuildAttributes, Creation>, BuildAttributes {}
export type BuildModel = ModelStatic<Build>;

export function defineBuild(sequelize: Sequelize): BuildModel {
  return sequelize.define<Build>(
    "Build",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      applicationId: { type: DataTypes.INTEGER, allowNull: false },
      number: { type: DataTypes.INTEGER, allowNull: false },
      buildKey: { type: DataTypes.STRING(512), allowNull: false },
      trigger: { type: DataTypes.STRING(16), allowNull: false },
      refType: { type: DataTypes.STRING(16), allowNull: false },
      refName: { type: DataTypes.STRING(255), allowNull: false },
      commit: { type: DataTypes.STRING(40), allowNull: false },
      pullRequestId: { type: DataTypes.INTEGER },
      destinationBranch: { type: DataTypes.STRING(255) },
      pipelineName: { type: DataTypes.STRING(300), allowNull: false },
      pipelineKey: { type: DataTypes.STRING(300), allowNull: false },
      state: { type: DataTypes.STRING(16), allowNull: false },
      stateReason: { type: DataTypes.TEXT },
      plan: { type: DataTypes.TEXT },
      warnings: { type: DataTypes.TEXT },
      variables: { type: DataTypes.TEXT },
      baseCommit: { type: DataTypes.STRING(40) },
      deliveryId: { type: DataTypes.INTEGER },
      rerunOf: { type: DataTypes.INTEGER },
      commitMessage: { type: DataTypes.TEXT },
      commitAuthor: { type: DataTypes.STRING(255) },
      startedBy: { type: DataTypes.STRING(255) },
      retries: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      startedAt: { type: DataTypes.DATE },
      finishedAt: { type: DataTypes.DATE },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "builds", underscored: true },
  );
}
