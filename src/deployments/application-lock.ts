import type { Transaction } from "sequelize";
import { isPostgres } from "../db/database";
import type { Models } from "../db/models";

/** First half of the advisory lock key of an application's deployments (the second half is its id). */
const DEPLOYMENTS_LOCK_SPACE = 727276;

/**
 * Serialises, for one application, every transaction that takes, waits for or releases environments and
 * concurrency groups: on Postgres a transaction-scoped advisory lock (several web processes); on sqlite every write
 * transaction is IMMEDIATE already, which excludes the others.
 */
export async function lockApplicationDeployments(models: Models, applicationId: number, tx: Transaction): Promise<void> {
  if (!isPostgres(models.sequelize)) return;
  await models.sequelize.query("SELECT pg_advisory_xact_lock(:space, :id)", { replacements: { space: DEPLOYMENTS_LOCK_SPACE, id: applicationId }, transaction: tx });
}
