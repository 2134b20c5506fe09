import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { Op, type Transaction } from "sequelize";
import type { StorageSettings } from "../config/load-config";
import type { Artifact, ArtifactType, Build, Models } from "../db/models";
import { sizeText } from "../runner/artifacts";
import { OverCapError } from "../runner/runner-protocol";
import { BlobTooLargeError, type BlobStore } from "../storage/blob-store";

const DAY_MS = 24 * 3600_000;

/**
 * Artifacts and caches on the server: their rows (who they belong to, their size) and their tar.gz blobs. Every
 * method takes the build (or application) the caller was authorised for — a job's lease, a tenant's page — and
 * looks only at what belongs to it; nothing here is found by a bare id.
 */
export class ServerArtifacts {
  constructor(
    private readonly models: Models,
    private readonly blobs: BlobStore,
    readonly settings: StorageSettings,
  ) {}

  /**
   * Stores one artifact of a step of `build` from its tar.gz stream. The step's artifacts together may take
   * `artifactMaxBytes`: past that the upload is cut off, nothing of it is kept, and OverCapError says so. An artifact
   * of the same name uploaded again (a step run again) replaces the first.
   */
  async saveArtifact(build: Build, stepIndex: number, name: string, type: ArtifactType, body: Readable): Promise<{ size: number }> {
    const { models } = this;
    const cap = this.settings.artifactMaxBytes;
    const others = await models.Artifact.findAll({ where: { buildId: build.id, stepIndex, name: { [Op.ne]: name } }, attributes: ["size"] });
    const room = cap - others.reduce((sum, a) => sum + a.size, 0);
    const over = () => new OverCapError(`the artifacts of this step are larger than ${sizeText(cap)}, the most a step may keep (the service's PIPELINES_ARTIFACT_MAX_BYTES)`);
    if (room <= 0) {
      body.destroy();
      throw over();
    }
    const key = `artifacts/${build.tenantId}/${build.id}/${randomUUID()}.tar.gz`;
    let size: number;
    try {
      ({ size } = await this.blobs.put(key, body, room));
    } catch (err) {
      if (err instanceof BlobTooLargeError) throw over();
      throw err;
    }
    const replaced = await models.sequelize.transaction(async (tx) => {
      const old = await models.Artifact.findAll({ where: { buildId: build.id, stepIndex, name }, transaction: tx });
      await models.Artifact.destroy({ where: { id: { [Op.in]: old.map((a) => a.id) } }, transaction: tx });
      await models.Artifact.create({ tenantId: build.tenantId, buildId: build.id, stepIndex, name, type, size, blobKey: key }, { transaction: tx });
      return old;
    });
    for (const a of replaced) await this.dropBlobIfUnused(a.blobKey, "artifact");
    return { size };
  }

  /** The artifacts of these builds (all of one tenant, checked by the caller), oldest step first. */
  list(tenantId: number, buildIds: readonly number[]): Promise<Artifact[]> {
    return this.models.Artifact.findAll({ where: { tenantId, buildId: { [Op.in]: [...buildIds] } }, order: [["stepIndex", "ASC"], ["name", "ASC"]] });
  }

  /** One artifact of one of these builds by its id, or null (another build's, another tenant's, expired). */
  find(tenantId: number, buildIds: readonly number[], id: number): Promise<Artifact | null> {
    return this.models.Artifact.findOne({ where: { id, tenantId, buildId: { [Op.in]: [...buildIds] } } });
  }

  /** The artifact's tar.gz, or null when its blob is gone (it expired meanwhile). */
  open(artifact: Artifact): Promise<Readable | null> {
    return this.blobs.get(artifact.blobKey);
  }

  /** A step runs again (after a lost runner, or a runner that shut down): what it uploaded before is forgotten. */
  async forgetStep(build: Build, stepIndex: number): Promise<void> {
    const old = await this.models.Artifact.findAll({ where: { buildId: build.id, stepIndex } });
    if (old.length === 0) return;
    await this.models.Artifact.destroy({ where: { id: { [Op.in]: old.map((a) => a.id) } } });
    for (const a of old) await this.dropBlobIfUnused(a.blobKey, "artifact");
  }

  /** "Re-run failed steps": the new build gets the artifacts of the steps it reuses (the same blobs, not copies). */
  async reuse(from: Build, to: Build, stepIndexes: readonly number[], tx: Transaction): Promise<void> {
    if (stepIndexes.length === 0) return;
    const rows = await this.models.Artifact.findAll({ where: { buildId: from.id, tenantId: from.tenantId, stepIndex: { [Op.in]: [...stepIndexes] } }, transaction: tx });
    for (const a of rows) {
      await this.models.Artifact.create({ tenantId: to.tenantId, buildId: to.id, stepIndex: a.stepIndex, name: a.name, type: a.type, size: a.size, blobKey: a.blobKey, createdAt: a.createdAt }, { transaction: tx });
    }
  }

  /**
   * A cache of the build's application, to restore: its tar.gz, or null when none is saved. Restoring it counts as
   * using it (a cache expires `cacheExpiryDays` after it was last used).
   */
  async openCache(build: Build, name: string): Promise<Readable | null> {
    const cache = await this.models.Cache.findOne({ where: { applicationId: build.applicationId, tenantId: build.tenantId, name } });
    if (!cache) return null;
    const body = await this.blobs.get(cache.blobKey);
    if (body) await cache.update({ lastUsedAt: new Date() });
    return body;
  }

  /**
   * Saves a cache of the build's application from its tar.gz stream, unless one of that name is saved already (like
   * Bitbucket, a saved cache is not overwritten: it expires or is deleted). Past `cacheMaxBytes` nothing is kept and
   * OverCapError says so.
   */
  async saveCache(build: Build, name: string, body: Readable): Promise<{ saved: boolean }> {
    const { models } = this;
    const where = { applicationId: build.applicationId, tenantId: build.tenantId, name };
    if (await models.Cache.findOne({ where })) {
      body.destroy();
      return { saved: false };
    }
    const cap = this.settings.cacheMaxBytes;
    const key = `caches/${build.tenantId}/${build.applicationId}/${randomUUID()}.tar.gz`;
    let size: number;
    try {
      ({ size } = await this.blobs.put(key, body, cap));
    } catch (err) {
      if (err instanceof BlobTooLargeError) throw new OverCapError(`the cache is larger than ${sizeText(cap)}, the most a cache may take (the service's PIPELINES_CACHE_MAX_BYTES)`);
      throw err;
    }
    try {
      await models.Cache.create({ ...where, size, blobKey: key, lastUsedAt: new Date() });
      return { saved: true };
    } catch (err) {
      // Another build saved it first: theirs stays.
      await this.blobs.delete(key);
      if ((err as Error).name === "SequelizeUniqueConstraintError") return { saved: false };
      throw err;
    }
  }

  /**
   * Removes artifacts older than `artifactExpiryDays` and caches unused for `cacheExpiryDays`. Safe to run in every
   * web process at once: each row is removed by exactly one of them (the DELETE that removed it), and a blob only
   * once no row names it.
   */
  async expire(now = new Date()): Promise<{ artifacts: number; caches: number }> {
    const { models } = this;
    const artifactsBefore = new Date(now.getTime() - this.settings.artifactExpiryDays * DAY_MS);
    const cachesBefore = new Date(now.getTime() - this.settings.cacheExpiryDays * DAY_MS);
    let artifacts = 0;
    let caches = 0;
    for (const a of await models.Artifact.findAll({ where: { createdAt: { [Op.lt]: artifactsBefore } }, attributes: ["id", "blobKey"], limit: 1000 })) {
      if ((await models.Artifact.destroy({ where: { id: a.id } })) !== 1) continue;
      artifacts++;
      await this.dropBlobIfUnused(a.blobKey, "artifact");
    }
    for (const c of await models.Cache.findAll({ where: { lastUsedAt: { [Op.lt]: cachesBefore } }, attributes: ["id", "blobKey"], limit: 1000 })) {
      if ((await models.Cache.destroy({ where: { id: c.id, lastUsedAt: { [Op.lt]: cachesBefore } } })) !== 1) continue;
      caches++;
      await this.blobs.delete(c.blobKey);
    }
    return { artifacts, caches };
  }

  private async dropBlobIfUnused(key: string, kind: "artifact"): Promise<void> {
    if (kind === "artifact" && (await this.models.Artifact.count({ where: { blobKey: key } })) > 0) return;
    await this.blobs.delete(key);
  }
}
