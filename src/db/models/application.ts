import { randomBytes } from "node:crypto";
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
  /** The repository's main branch as Bitbucket last told it (null: not known yet). */
  mainBranch: string | null;
  /** The unguessable part of the status badge's URL (`/badges/<token>/<branch>.svg`): 32 random bytes, base64url. */
  badgeToken: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A repository that Pipelines builds. */
export interface Application extends Model<ApplicationAttributes, Optional<ApplicationAttributes, "id" | "repositoryUuid" | "branchFilter" | "buildCounter" | "mainBranch" | "badgeToken" | "createdAt" | "updatedAt">>, ApplicationAttributes {}
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
      mainBranch: { type: DataTypes.STRING(255) },
      badgeToken: { type: DataTypes.STRING(64), allowNull: false, defaultValue: () => randomBytes(32).toString("base64url") },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "applications", underscored: true },
  );
}
