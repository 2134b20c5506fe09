import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";
import type { BuildRefType } from "./build";

/**
 * WAITING: started, waiting for its environment (or concurrency group) to be free, or for a runner; RUNNING;
 * SUCCESSFUL / FAILED / STOPPED: how its step ended; REFUSED: the environment's restrictions did not allow it.
 */
export type DeploymentState = "WAITING" | "RUNNING" | "SUCCESSFUL" | "FAILED" | "STOPPED" | "REFUSED";
export const DEPLOYMENT_STATES: readonly DeploymentState[] = ["WAITING", "RUNNING", "SUCCESSFUL", "FAILED", "STOPPED", "REFUSED"];

export interface DeploymentAttributes {
  id: number;
  tenantId: number;
  applicationId: number;
  environmentId: number;
  buildId: number;
  /** The deploying step's index in its build. */
  stepIndex: number;
  commit: string;
  refType: BuildRefType;
  refName: string;
  state: DeploymentState;
  /** Why it waits, or why it was refused. */
  reason: string | null;
  /** The person who started it by hand (Run, Promote, Redeploy); null when the pipeline started it. */
  startedBy: string | null;
  /** Started by hand by a person Bitbucket says administers the repository (what an admins-only environment needs). */
  adminApproved: boolean;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Commits between the previous successful deployment to the environment and this one; null when unknown. */
  commitsSincePrevious: number | null;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<DeploymentAttributes, "id" | "reason" | "startedBy" | "adminApproved" | "startedAt" | "finishedAt" | "commitsSincePrevious" | "createdAt" | "updatedAt">;

/** One deployment of a build's step to an environment. */
export interface Deployment extends Model<DeploymentAttributes, Creation>, DeploymentAttributes {}
export type DeploymentModel = ModelStatic<Deployment>;

export function defineDeployment(sequelize: Sequelize): DeploymentModel {
  return sequelize.define<Deployment>(
    "Deployment",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      applicationId: { type: DataTypes.INTEGER, allowNull: false },
      environmentId: { type: DataTypes.INTEGER, allowNull: false },
      buildId: { type: DataTypes.INTEGER, allowNull: false },
      stepIndex: { type: DataTypes.INTEGER, allowNull: false },
      commit: { type: DataTypes.STRING(40), allowNull: false },
      refType: { type: DataTypes.STRING(16), allowNull: false },
      refName: { type: DataTypes.STRING(255), allowNull: false },
      state: { type: DataTypes.STRING(16), allowNull: false },
      reason: { type: DataTypes.TEXT },
      startedBy: { type: DataTypes.STRING(255) },
      adminApproved: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      startedAt: { type: DataTypes.DATE },
      finishedAt: { type: DataTypes.DATE },
      commitsSincePrevious: { type: DataTypes.INTEGER },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "deployments", underscored: true },
  );
}

export type StepLockState = "waiting" | "held";

export interface StepLockAttributes {
  id: number;
  tenantId: number;
  applicationId: number;
  buildId: number;
  stepIndex: number;
  /** `environment:<id>` or `group:<concurrency group>`: at most one step of the application holds a key. */
  lockKey: string;
  /** For people: the environment's name, or `concurrency group "db"`. */
  label: string;
  state: StepLockState;
  createdAt: Date;
}

/**
 * A step's claim on an environment or a concurrency group: `held` while it may run, `waiting` in line (oldest first).
 */
export interface StepLock extends Model<StepLockAttributes, Optional<StepLockAttributes, "id" | "createdAt">>, StepLockAttributes {}
export type StepLockModel = ModelStatic<StepLock>;

export function defineStepLock(sequelize: Sequelize): StepLockModel {
  return sequelize.define<StepLock>(
    "StepLock",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      applicationId: { type: DataTypes.INTEGER, allowNull: false },
      buildId: { type: DataTypes.INTEGER, allowNull: false },
      stepIndex: { type: DataTypes.INTEGER, allowNull: false },
      lockKey: { type: DataTypes.STRING(300), allowNull: false },
      label: { type: DataTypes.STRING(300), allowNull: false },
      state: { type: DataTypes.STRING(16), allowNull: false },
      createdAt: { type: DataTypes.DATE },
    },
    { tableName: "step_locks", underscored: true, updatedAt: false },
  );
}
