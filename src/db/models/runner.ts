import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export interface RunnerAttributes {
  id: number;
  name: string;
  /** SHA-256 (hex) of the runner token; the token itself is shown once and never stored. */
  tokenHash: string;
  lastSeenAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A runner allowed to claim jobs over the runner API. */
export interface Runner extends Model<RunnerAttributes, Optional<RunnerAttributes, "id" | "lastSeenAt" | "createdAt" | "updatedAt">>, RunnerAttributes {}
export type RunnerModel = ModelStatic<Runner>;

export function defineRunner(sequelize: Sequelize): RunnerModel {
  return sequelize.define<Runner>(
    "Runner",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      name: { type: DataTypes.STRING(128), allowNull: false },
      tokenHash: { type: DataTypes.STRING(64), allowNull: false, unique: true },
      lastSeenAt: { type: DataTypes.DATE },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "runners", underscored: true },
  );
}
