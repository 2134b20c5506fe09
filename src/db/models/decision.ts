import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

/**
 * What the processor decided for one event of a delivery: built, already-built (the same ref, commit and trigger
 * were built for an earlier delivery: no second build), skipped (`[skip ci]`), no-pipeline, auto-build-off,
 * branch-filter, not-an-application, inactive (uninstalled), stopped (a merged or declined pull request stopped
 * builds), ignored, invalid (the payload could not be read).
 */
export type DecisionOutcome =
  | "built"
  | "already-built"
  | "skipped"
  | "no-pipeline"
  | "auto-build-off"
  | "branch-filter"
  | "not-an-application"
  | "inactive"
  | "stopped"
  | "ignored"
  | "invalid"
  /** A scheduled pipeline's tick that could not make its build (Bitbucket unreachable, the branch gone…). */
  | "failed";

export interface DecisionAttributes {
  id: number;
  tenantId: number;
  deliveryId: number;
  applicationId: number | null;
  repository: string | null;
  event: string;
  ref: string | null;
  commit: string | null;
  outcome: DecisionOutcome;
  reason: string;
  buildId: number | null;
  createdAt: Date;
}

type Creation = Optional<DecisionAttributes, "id" | "applicationId" | "repository" | "ref" | "commit" | "buildId" | "createdAt">;

/** "Why did / didn't this run": one row per event of a delivery. */
export interface Decision extends Model<DecisionAttributes, Creation>, DecisionAttributes {}
export type DecisionModel = ModelStatic<Decision>;

export function defineDecision(sequelize: Sequelize): DecisionModel {
  return sequelize.define<Decision>(
    "Decision",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      deliveryId: { type: DataTypes.INTEGER, allowNull: false },
      applicationId: { type: DataTypes.INTEGER },
      repository: { type: DataTypes.STRING(255) },
      event: { type: DataTypes.STRING(64), allowNull: false },
      ref: { type: DataTypes.STRING(300) },
      commit: { type: DataTypes.STRING(40) },
      outcome: { type: DataTypes.STRING(32), allowNull: false },
      reason: { type: DataTypes.TEXT, allowNull: false },
      buildId: { type: DataTypes.INTEGER },
      createdAt: { type: DataTypes.DATE },
    },
    { tableName: "decisions", underscored: true, updatedAt: false },
  );
}
