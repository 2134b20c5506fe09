import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export type CommitStatusState = "INPROGRESS" | "SUCCESSFUL" | "FAILED" | "STOPPED";
/** pending: to be posted; delivered; superseded: a newer state for the same (commit, key) made it moot; failed: given up. */
export type OutboxStatus = "pending" | "delivered" | "superseded" | "failed";

export interface StatusOutboxAttributes {
  id: number;
  tenantId: number;
  buildId: number;
  repository: string;
  commit: string;
  /** At most 40 characters, stable per application and pipeline. */
  key: string;
  state: CommitStatusState;
  name: string;
  description: string;
  url: string;
  refname: string | null;
  status: OutboxStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<StatusOutboxAttributes, "id" | "refname" | "attempts" | "lastError" | "createdAt" | "updatedAt">;

/** A commit build status to post to Bitbucket, written in the same transaction as the state change it reports. */
export interface StatusOutbox extends Model<StatusOutboxAttributes, Creation>, StatusOutboxAttributes {}
export type StatusOutboxModel = ModelStatic<StatusOutbox>;

export function defineStatusOutbox(sequelize: Sequelize): StatusOutboxModel {
  return sequelize.define<StatusOutbox>(
    "StatusOutbox",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      buildId: { type: DataTypes.INTEGER, allowNull: false },
      repository: { type: DataTypes.STRING(255), allowNull: false },
      commit: { type: DataTypes.STRING(40), allowNull: false },
      key: { type: DataTypes.STRING(40), allowNull: false },
      state: { type: DataTypes.STRING(16), allowNull: false },
      name: { type: DataTypes.STRING(255), allowNull: false },
      description: { type: DataTypes.STRING(1024), allowNull: false },
      url: { type: DataTypes.STRING(1024), allowNull: false },
      refname: { type: DataTypes.STRING(255) },
      status: { type: DataTypes.STRING(16), allowNull: false },
      attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      nextAttemptAt: { type: DataTypes.DATE, allowNull: false },
      lastError: { type: DataTypes.TEXT },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "status_outbox", underscored: true },
  );
}
