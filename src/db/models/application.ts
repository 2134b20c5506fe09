import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export interface ApplicationAttributes {
  id: number;
  tenantId: number;
  /** `<workspace>/<repo_slug>`, as Bitbucket's full_name. */
  repository: string;
  repositoryUuid: string | null;
  autoBuild: boolean;
  autoCancel: boolean;
  /** A branch glob: when set, pushes to other branches are not built automatically. */
  branchFilter: string | null;
  /** The number of the last build (see allocateBuildNumber). */
  buildCounter: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A repository that Pipelines builds. */
export interface Application extends Model<ApplicationAttributes, Optional<ApplicationAttributes, "id" | "repositoryUuid" | "branchFilter" | "buildCounter" | "createdAt" | "updatedAt">>, ApplicationAttributes {}
export type ApplicationModel = ModelStatic<Application>;

export function defineApplication(sequelize: Sequelize): ApplicationModel {
  return sequelize.define<Application>(
    "Application",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      repository: { type: DataTypes.STRING(255), allowNull: false },
      repositoryUuid: { type: DataTypes.STRING(64) },
      autoBuild: { type: DataTypes.BOOLEAN, allowNull: false },
      autoCancel: { type: DataTypes.BOOLEAN, allowNull: false },
      branchFilter: { type: DataTypes.STRING(255) },
      buildCounter: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "applications", underscored: true },
  );
}
