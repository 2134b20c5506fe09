import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

export interface TenantSshKeyAttributes {
  id: number;
  tenantId: number;
  /** `ssh-ed25519 AAAA… pipelines@<workspace>` (OpenSSH public key line). */
  publicKey: string;
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** Sealed OpenSSH private key; read it with revealSecret(key, "privateKey"). Never rendered, logged or sent. */
  privateKey: string;
  /** The Bitbucket account (`selected_user`: uuid or account id) the public key was added to, if any. */
  bitbucketAccount: string | null;
  /** The uuid Bitbucket gave the key on that account (to delete it on disconnect). */
  bitbucketKeyUuid: string | null;
  addedToBitbucketAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

type Creation = Optional<TenantSshKeyAttributes, "id" | "bitbucketAccount" | "bitbucketKeyUuid" | "addedToBitbucketAt" | "createdAt" | "updatedAt">;

/** The SSH key pair of a tenant (at most one), generated on first need and deleted when the tenant revokes us. */
export interface TenantSshKey extends Model<TenantSshKeyAttributes, Creation>, TenantSshKeyAttributes {}
export type TenantSshKeyModel = ModelStatic<TenantSshKey>;

export const TENANT_SSH_KEY_SECRET_FIELDS = ["privateKey"];

export function defineTenantSshKey(sequelize: Sequelize): TenantSshKeyModel {
  return sequelize.define<TenantSshKey>(
    "TenantSshKey",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false, unique: true },
      publicKey: { type: DataTypes.STRING(1024), allowNull: false },
      fingerprint: { type: DataTypes.STRING(128), allowNull: false },
      privateKey: { type: DataTypes.TEXT, allowNull: false },
      bitbucketAccount: { type: DataTypes.STRING(255) },
      bitbucketKeyUuid: { type: DataTypes.STRING(64) },
      addedToBitbucketAt: { type: DataTypes.DATE },
      createdAt: { type: DataTypes.DATE },
      updatedAt: { type: DataTypes.DATE },
    },
    { tableName: "tenant_ssh_keys", underscored: true },
  );
}
