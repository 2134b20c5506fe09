import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

/**
 * PENDING: not started; WAITING: a manual step waiting for a person; RUNNING; SUCCESSFUL / FAILED / STOPPED (cancel,
 * superseded or lost runner) / TIMED_OUT (max-time) / SKIPPED (its changesets condition matched no changed file) /
 * NOT_RUN (an earlier step failed or the build was stopped first) / REFUSED (a deployment its environment's
 * restrictions do not allow: it did not run, its log says why, and the build went on).
 */
export type StepState = "PENDING" | "WAITING" | "RUNNING" | "SUCCESSFUL" | "FAILED" | "STOPPED" | "TIMED_OUT" | "SKIPPED" | "NOT_RUN" | "REFUSED";

export interface StepAttributes {
  id: number;
  tenantId: number;
  buildId: number;
  /** Position in the plan (0-based), the `:n` of the API. */
  index: number;
  name: string;
  state: StepState;
  manual: boolean;
  deployment: string | null;
  exitCode: number | null;
  /** Bytes of log stored so far (the next chunk's offset). */
  logBytes: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** How the runner isolated the step: `sandbox`, `container` or `host` (none); null before it started. */
  executor: string | null;
  /** The runner that ran it (`<token name>/<runner name>` for remote runners). */
  runnerName: string | null;
  /** JSON object of the output variables it passed on to later steps (`output-variables`). */
  outputVariables: string | null;
  /** "Re-run failed steps": the build whose result (state, log, artifacts) this step reuses; null when it ran. */
  reusedFrom: number | null;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<StepAttributes, "id" | "deployment" | "exitCode" | "logBytes" | "startedAt" | "finishedAt" | "executor" | "runnerName" | "outputVariables" | "reusedFrom" | "createdAt" | "updatedAt">;

export interface Step extends Model<StepAttributes, Creation>, StepAttributes {}
export type StepModel = ModelStatic<Step>;

export function defineStep(sequelize: Sequelize): StepModel {
  return sequelize.define<Step>(
    "Step",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      buildId: { type: DataTypes.INTEGER, allowNull: false },
      index: { type: DataTypes.INTEGER, allowNull: false },
      name: { type: DataTypes.STRING(300), allowNull: false },
      state: { type: DataTypes.STRING(16), allowNull: false },
      manual: { type: DataTypes.BOOLEAN, allowNull: false },
      deployment: { type: DataTypes.STRING(255) },
      exitCode: { type: DataTypes.INTEGER },
      logBytes: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      startedAt: { type: DataTypes.DATE },
      finishedAt: { type: DataTypes.DATE },
      executor: { type: DataTypes.STRING(16) },
      runnerName: { type: DataTypes.STRING(300) },
      outputVariables: { type: DataTypes.TEXT },
      reusedFrom: { type: DataTypes.INTEGER },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "steps", underscored: true },
  );
}
