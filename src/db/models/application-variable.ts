import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export interface ApplicationVariableAttributes {
  id: number;
  tenantId: number;
  applicationId: number;
  name: string;
  /** Sealed whatever `secured` says (read it with revealSecret); a secured value is never returned by the API. */
  value: string;
  secured: boolean;
}

/** A variable passed to every step of an application's builds; secured ones are masked in logs. */
export interface ApplicationVariable extends Model<ApplicationVariableAttributes, Optional<ApplicationVariableAttributes, "id">>, ApplicationVariableAttributes {}
export type ApplicationVariableModel = ModelStatic<ApplicationVariable>;

export const APPLICATION_VARIABLE_SECRET_FIELDS = ["value"];

export function defineApplicationVariable(sequelize: Sequelize): ApplicationVariableModel {
  return sequelize.define<ApplicationVariable>(
    "ApplicationVariable",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      applicationId: { type: DataTypes.INTEGER, allowNull: false },
      name: { type: DataTypes.STRING(128), allowNull: false },
      value: { type: DataTypes.TEXT, allowNull: false },
      secured: { type: DataTypes.BOOLEAN, allowNull: false },
    },
    { tableName: "application_variables", underscored: true },
  );
}
