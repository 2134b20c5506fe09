import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

/** queued: waiting for a runner; leased: a runner holds it until `leaseExpiresAt`; done: finished or given up. */
export type JobState = "queued" | "leased" | "done";

export interface JobAttributes {
  id: number;
  tenantId: number;
  buildId: number;
  /** The first step this job runs (0, or the manual step a person started). */
  startStep: number;
  state: JobState;
  /** The runner that holds the lease. */
  leaseOwner: string | null;
  /** Random per claim: every call about a leased job must carry it, so a runner that lost its lease is refused. */
  leaseToken: string | null;
  leaseExpiresAt: Date | null;
  /**
   * The runner labels this job needs (`runs-on` of the steps it runs), as a JSON list sorted and lower-cased; null
   * when it needs none. Only a runner having every one of them may claim it.
   */
  runsOn: string | null;
  /** Claims so far. */
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<JobAttributes, "id" | "leaseOwner" | "leaseToken" | "leaseExpiresAt" | "runsOn" | "attempts" | "createdAt" | "updatedAt">;

/** A unit of work in the lease queue: run a build's steps from `startStep` until the end or a manual step. */
export interface Job extends Model<JobAttributes, Creation>, JobAttributes {}
export type JobModel = ModelStatic<Job>;

export function defineJob(sequelize: Sequelize): JobModel {
  return sequelize.define<Job>(
    "Job",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      buildId: { type: DataTypes.INTEGER, allowNull: false },
      startStep: { type: DataTypes.INTEGER, allowNull: false },
      state: { type: DataTypes.STRING(16), allowNull: false },
      leaseOwner: { type: DataTypes.STRING(128) },
      leaseToken: { type: DataTypes.STRING(64) },
      leaseExpiresAt: { type: DataTypes.DATE },
      runsOn: { type: DataTypes.TEXT },
      attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "jobs", underscored: true },
  );
}
