import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export interface LogChunkAttributes {
  id: number;
  stepId: number;
  /** Byte offset of `data` in the step's log; chunks of a step are contiguous. */
  offset: number;
  data: Buffer;
  /** When the chunk reached the server (a chunk holds what a step printed within about a quarter of a second); null for chunks stored before this was kept. */
  createdAt: Date | null;
}

/** A piece of a step's (already masked) log. Unique per (step, offset), so a chunk sent twice is stored once. */
export interface LogChunk extends Model<LogChunkAttributes, Optional<LogChunkAttributes, "id" | "createdAt">>, LogChunkAttributes {}
export type LogChunkModel = ModelStatic<LogChunk>;

export function defineLogChunk(sequelize: Sequelize): LogChunkModel {
  return sequelize.define<LogChunk>(
    "LogChunk",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      stepId: { type: DataTypes.INTEGER, allowNull: false },
      offset: { type: DataTypes.INTEGER, allowNull: false },
      data: { type: DataTypes.BLOB, allowNull: false },
      createdAt: { type: DataTypes.DATE, field: "created_at" },
    },
    { tableName: "log_chunks", underscored: true, timestamps: false },
  );
}
