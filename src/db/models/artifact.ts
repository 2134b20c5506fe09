import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

/** `shared`: later steps of the build get it; `scoped` (and `test-reports`): only the step's own, downloadable. */
export type ArtifactType = "shared" | "scoped";

export interface ArtifactAttributes {
  id: number;
  tenantId: number;
  buildId: number;
  stepIndex: number;
  /** The name in `artifacts: upload` (`artifacts` for the plain list form). */
  name: string;
  type: ArtifactType;
  /** Bytes of its tar.gz. */
  size: number;
  /** Where its tar.gz is in the blob store (shared by the copies "Re-run failed steps" makes). */
  blobKey: string;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<ArtifactAttributes, "id" | "createdAt" | "updatedAt">;

/** One artifact a step uploaded: a tar.gz of the files its globs matched. */
export interface Artifact extends Model<ArtifactAttributes, Creation>, ArtifactAttributes {}
export type ArtifactModel = ModelStatic<Artifact>;

export function defineArtifact(sequelize: Sequelize): ArtifactModel {
  return sequelize.define<Artifact>(
    "Artifact",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      buildId: { type: DataTypes.INTEGER, allowNull: false },
      stepIndex: { type: DataTypes.INTEGER, allowNull: false },
      name: { type: DataTypes.STRING(200), allowNull: false },
      type: { type: DataTypes.STRING(16), allowNull: false },
      size: { type: DataTypes.BIGINT, allowNull: false, get(this: Artifact) { return Number(this.getDataValue("size")); } },
      blobKey: { type: DataTypes.STRING(400), allowNull: false },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "artifacts", underscored: true },
  );
}

export interface CacheAttributes {
  id: number;
  tenantId: number;
  applicationId: number;
  /** The cache's name in the pipeline file (`node`, or one of `definitions.caches`). */
  name: string;
  /** Bytes of its tar.gz. */
  size: number;
  blobKey: string;
  /** When a step last restored it (it expires this long after). */
  lastUsedAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

type CacheCreation = Optional<CacheAttributes, "id" | "createdAt" | "updatedAt">;

/** One saved cache of an application (like Bitbucket, never overwritten: it expires, or someone deletes it). */
export interface Cache extends Model<CacheAttributes, CacheCreation>, CacheAttributes {}
export type CacheModel = ModelStatic<Cache>;

export function defineCache(sequelize: Sequelize): CacheModel {
  return sequelize.define<Cache>(
    "Cache",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      applicationId: { type: DataTypes.INTEGER, allowNull: false },
      name: { type: DataTypes.STRING(200), allowNull: false },
      size: { type: DataTypes.BIGINT, allowNull: false, get(this: Cache) { return Number(this.getDataValue("size")); } },
      blobKey: { type: DataTypes.STRING(400), allowNull: false },
      lastUsedAt: { type: DataTypes.DATE, allowNull: false },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "caches", underscored: true },
  );
}
