import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export interface RunnerAttributes {
  id: number;
  name: string;
  /** SHA-256 (hex) of the runner token; the token itself is shown once and never stored. */
  tokenHash: string;
  lastSeenAt: Date | null;
  /** `remote`: `npm run runner` with this token; `in-process`: the runner inside a web process (no token: it never authenticates). */
  kind: RunnerKind;
  /** The labels it last announced (JSON list, with `self.hosted` and its OS); null before it announced any. */
  labels: string | null;
  /** The version of Pipelines it runs, as it announced it. */
  version: string | null;
  /** Jobs it runs at once, as it announced it. */
  slots: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export type RunnerKind = "remote" | "in-process";

/** A runner allowed to claim jobs over the runner API. */
export interface Runner extends Model<RunnerAttributes, Optional<RunnerAttributes, "id" | "lastSeenAt" | "kind" | "labels" | "version" | "slots" | "createdAt" | "updatedAt">>, RunnerAttributes {}
export type RunnerModel = ModelStatic<Runner>;

export function defineRunner(sequelize: Sequelize): RunnerModel {
  return sequelize.define<Runner>(
    "Runner",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      name: { type: DataTypes.STRING(128), allowNull: false },
      tokenHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      lastSeenAt: { type: DataTypes.DATE },
      kind: { type: DataTypes.STRING(16), allowNull: false, defaultValue: "remote" },
      labels: { type: DataTypes.TEXT },
      version: { type: DataTypes.STRING(64) },
      slots: { type: DataTypes.INTEGER },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "runners", underscored: true },
  );
}
