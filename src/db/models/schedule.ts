import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export interface ScheduleAttributes {
  id: number;
  tenantId: number;
  applicationId: number;
  branch: string;
  /** The custom pipeline's name (`custom:<name>` in the API); null: the branch's own pipeline. */
  pipeline: string | null;
  /** Bitbucket's 7-field form (`0 0 2 * * ? *`) or the 5-field one (`0 2 * * *`). */
  cron: string;
  /** IANA time zone the cron expression is read in. */
  timezone: string;
  enabled: boolean;
  /** The next tick; the process whose conditional UPDATE moves it on fires that tick. Null while disabled. */
  nextRunAt: Date | null;
  lastRunAt: Date | null;
  lastBuildId: number | null;
  /** Why the last tick made no build (Bitbucket unreachable, no such pipeline…); null when it made one. */
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<ScheduleAttributes, "id" | "pipeline" | "nextRunAt" | "lastRunAt" | "lastBuildId" | "lastError" | "createdAt" | "updatedAt">;

/** A scheduled pipeline: a branch's (or a custom) pipeline started by a cron expression. */
export interface Schedule extends Model<ScheduleAttributes, Creation>, ScheduleAttributes {}
export type ScheduleModel = ModelStatic<Schedule>;

export function defineSchedule(sequelize: Sequelize): ScheduleModel {
  return sequelize.define<Schedule>(
    "Schedule",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      applicationId: { type: DataTypes.INTEGER, allowNull: false },
      branch: { type: DataTypes.STRING(255), allowNull: false },
      pipeline: { type: DataTypes.STRING(300) },
      cron: { type: DataTypes.STRING(128), allowNull: false },
      timezone: { type: DataTypes.STRING(64), allowNull: false },
      enabled: { type: DataTypes.BOOLEAN, allowNull: false },
      nextRunAt: { type: DataTypes.DATE },
      lastRunAt: { type: DataTypes.DATE },
      lastBuildId: { type: DataTypes.INTEGER },
      lastError: { type: DataTypes.TEXT },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "schedules", underscored: true },
  );
}
