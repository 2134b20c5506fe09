import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export interface StepTestReportAttributes {
  id: number;
  tenantId: number;
  stepId: number;
  /** Report files read. */
  files: number;
  passed: number;
  failed: number;
  skipped: number;
  /** JSON of the first failures: `{suite, name, message, output}[]` (see TestReportSummary). */
  failures: string;
  /** Report files that could not be read (each a warning in the step's log). */
  unreadable: number;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<StepTestReportAttributes, "id" | "unreadable" | "createdAt" | "updatedAt">;

/** The JUnit/xUnit test reports a runner found after a step, summed: one row per step. */
export interface StepTestReport extends Model<StepTestReportAttributes, Creation>, StepTestReportAttributes {}
export type StepTestReportModel = ModelStatic<StepTestReport>;

export function defineStepTestReport(sequelize: Sequelize): StepTestReportModel {
  return sequelize.define<StepTestReport>(
    "StepTestReport",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      stepId: { type: DataTypes.INTEGER, allowNull: false },
      files: { type: DataTypes.INTEGER, allowNull: false },
      passed: { type: DataTypes.INTEGER, allowNull: false },
      failed: { type: DataTypes.INTEGER, allowNull: false },
      skipped: { type: DataTypes.INTEGER, allowNull: false },
      failures: { type: DataTypes.TEXT, allowNull: false },
      unreadable: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "step_test_reports", underscored: true },
  );
}
