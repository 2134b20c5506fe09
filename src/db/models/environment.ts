import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export type EnvironmentType = "test" | "staging" | "production";
export const ENVIRONMENT_TYPES: readonly EnvironmentType[] = ["test", "staging", "production"];

/** What every application starts with, in this order (Bitbucket's defaults). */
export const DEFAULT_ENVIRONMENTS: readonly { name: string; type: EnvironmentType }[] = [
  { name: "Test", type: "test" },
  { name: "Staging", type: "staging" },
  { name: "Production", type: "production" },
];

export interface EnvironmentAttributes {
  id: number;
  tenantId: number;
  applicationId: number;
  /** As people wrote it (`Staging`); a step's `deployment:` matches it case-insensitively. */
  name: string;
  /** The name lower-cased: unique per application. */
  nameKey: string;
  type: EnvironmentType;
  /** 0, 1, 2… : the order of the Deployments page's columns. */
  rank: number;
  /** JSON string[] of branch globs allowed to deploy here; null: any branch. */
  branches: string | null;
  /** Only a repository admin may start, promote or redeploy to it by hand; nothing deploys here on its own. */
  adminsOnly: boolean;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<EnvironmentAttributes, "id" | "branches" | "adminsOnly" | "createdAt" | "updatedAt">;

/** A deployment environment of an application (Test, Staging, Production…). */
export interface Environment extends Model<EnvironmentAttributes, Creation>, EnvironmentAttributes {}
export type EnvironmentModel = ModelStatic<Environment>;

export function defineEnvironment(sequelize: Sequelize): EnvironmentModel {
  return sequelize.define<Environment>(
    "Environment",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      applicationId: { type: DataTypes.INTEGER, allowNull: false },
      name: { type: DataTypes.STRING(255), allowNull: false },
      nameKey: { type: DataTypes.STRING(255), allowNull: false },
      type: { type: DataTypes.STRING(16), allowNull: false },
      rank: { type: DataTypes.INTEGER, allowNull: false },
      branches: { type: DataTypes.TEXT },
      adminsOnly: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "environments", underscored: true },
  );
}

export interface EnvironmentVariableAttributes {
  id: number;
  tenantId: number;
  environmentId: number;
  name: string;
  /** Sealed whatever `secured` says (read it with revealSecret); a secured value is never returned by the API. */
  value: string;
  secured: boolean;
}

/** A deployment variable: given only to the steps that deploy to its environment; secured ones are masked in logs. */
export interface EnvironmentVariable extends Model<EnvironmentVariableAttributes, Optional<EnvironmentVariableAttributes, "id">>, EnvironmentVariableAttributes {}
export type EnvironmentVariableModel = ModelStatic<EnvironmentVariable>;

export const ENVIRONMENT_VARIABLE_SECRET_FIELDS = ["value"];

export function defineEnvironmentVariable(sequelize: Sequelize): EnvironmentVariableModel {
  return sequelize.define<EnvironmentVariable>(
    "EnvironmentVariable",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      environmentId: { type: DataTypes.INTEGER, allowNull: false },
      name: { type: DataTypes.STRING(128), allowNull: false },
      value: { type: DataTypes.TEXT, allowNull: false },
      secured: { type: DataTypes.BOOLEAN, allowNull: false },
    },
    { tableName: "environment_variables", underscored: true },
  );
}
