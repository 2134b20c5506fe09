import { randomBytes } from "node:crypto";
import { Op, QueryTypes } from "sequelize";
import type { Job, Models } from "../db/models";
import { isPostgres } from "../db/database";

export interface Lease {
  jobId: number;
  /** Random per claim; every later call about the job must carry it. */
  leaseToken: string;
}

/** Any advisory lock number unique to the claim; serialises claims so the per-tenant count is exact. */
const CLAIM_LOCK = 727275;

/**
 * The first queued job whose tenant runs fewer than `perTenant` jobs and whose `runs-on` labels the runner has
 * (`labels`: the claiming runner's, see `runnerLabels`; a job that needs none suits every runner), oldest first —
 * or null. One transaction:
 * on Postgres the row is taken with `FOR UPDATE SKIP LOCKED` (claimers never wait on each other's rows) under a
 * transaction-scoped advisory lock that makes the per-tenant count exact; on sqlite the transaction is
 * IMMEDIATE, which already excludes other writers.
 */
export async function claimJob(models: Models, owner: string, leaseMs: number, perTenant: number, labels: readonly string[] = []): Promise<Job | null> {
  const { sequelize, Job } = models;
  const pg = isPostgres(sequelize);
  const now = new Date();
  return sequelize.transaction(async (tx) => {
    if (pg) await sequelize.query("SELECT pg_advisory_xact_lock(:lock)", { replacements: { lock: CLAIM_LOCK }, transaction: tx });
    // One statement picks the job and leases it (RETURNING the row): no second round trip to read or write it. The
    // tenants at their limit are counted once (leased jobs are few: the runners' slots), not once per queued job.
    const rows = await sequelize.query(
      `UPDATE jobs SET state = 'leased', lease_owner = :owner, lease_token = :token, lease_expires_at = :expires, attempts = attempts + 1, updated_at = :now
        WHERE id = (SELECT j.id FROM jobs j
          WHERE j.state = 'queued'
            AND ${labelsMatch(pg, labels)}
            AND j.tenant_id NOT IN (SELECT l.tenant_id FROM jobs l WHERE l.state = 'leased' GROUP BY l.tenant_id HAVING COUNT(*) >= :perTenant)
          ORDER BY j.id LIMIT 1${pg ? " FOR UPDATE OF j SKIP LOCKED" : ""})
        RETURNING *`,
      {
        replacements: {
          perTenant,
          labels: labels.length ? [...labels] : [""],
          labelsJson: JSON.stringify(labels),
          owner: owner.slice(0, 128),
          token: randomBytes(24).toString("hex"),
          expires: new Date(now.getTime() + leaseMs),
          now,
        },
        type: QueryTypes.SELECT,
        model: Job,
        mapToModel: true,
        transaction: tx,
      },
    );
    const job = (rows[0] as Job | undefined) ?? null;
    // sqlite hands RETURNING's dates back as text: read the row again there (a local file, no round trip to speak of).
    return job && !pg ? Job.findByPk(job.id, { transaction: tx }) : job;
  });
}

/**
 * SQL true when job `j` needs no label the runner lacks. `runs_on` is a JSON list (or NULL: needs none); Postgres
 * compares it as jsonb containment, sqlite looks for a label of the job outside the runner's list.
 */
function labelsMatch(pg: boolean, labels: readonly string[]): string {
  if (labels.length === 0) return "j.runs_on IS NULL";
  return pg
    ? "(j.runs_on IS NULL OR CAST(j.runs_on AS jsonb) <@ CAST(:labelsJson AS jsonb))"
    : "(j.runs_on IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(j.runs_on) r WHERE r.value NOT IN (:labels)))";
}

/** Extends a lease the caller still holds; false when it was lost (expired and reaped, or the job ended). */
export async function extendLease(models: Models, lease: Lease, leaseMs: number): Promise<boolean> {
  const [n] = await models.Job.update(
    { leaseExpiresAt: new Date(Date.now() + leaseMs) },
    { where: { id: lease.jobId, leaseToken: lease.leaseToken, state: "leased" } },
  );
  return n === 1;
}

/** Jobs whose runner stopped renewing its lease. */
export function expiredLeases(models: Models, now = new Date()): Promise<Job[]> {
  return models.Job.findAll({ where: { state: "leased", leaseExpiresAt: { [Op.lt]: now } }, order: [["id", "ASC"]], limit: 100 });
}
