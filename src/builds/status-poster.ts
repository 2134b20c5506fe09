import { Op } from "sequelize";
import type { StatusOutbox } from "../db/models";
import { retryPolicy } from "../http/retry-policy";
import type { EngineContext } from "./engine-context";

/** How long a status taken by one process is left to it before another may post it (a post takes seconds at most). */
const CLAIM_MS = 60_000;

/**
 * Posts due commit statuses from the outbox, oldest first. Only the newest state per (commit, key) matters: an
 * older pending row is marked superseded instead of posted. Each post's outcome goes through the retry policy:
 * done → delivered; retry → due again after the policy's delay (Retry-After on 429/503, backoff with jitter on
 * 5xx and network errors, at once after a 401); final → failed with the reason. Returns how many rows it handled.
 */
export async function postDueStatuses(ctx: EngineContext, batch = 20): Promise<number> {
  const { models } = ctx;
  const due = await models.StatusOutbox.findAll({
    where: { status: "pending", nextAttemptAt: { [Op.lte]: new Date() } },
    order: [["id", "ASC"]],
    limit: batch,
  });
  let handled = 0;
  for (const row of due) {
    handled++;
    const newer = await models.StatusOutbox.count({ where: { tenantId: row.tenantId, commit: row.commit, key: row.key, id: { [Op.gt]: row.id } } });
    if (newer > 0) {
      await row.update({ status: "superseded" });
      continue;
    }
    // Several web processes post from the same outbox: a row is taken with a conditional update (its due time moved
    // by CLAIM_MS) and only the process whose update changed it posts. One that dies mid-post leaves it due again then.
    const [claimed] = await models.StatusOutbox.update({ nextAttemptAt: new Date(Date.now() + CLAIM_MS) }, { where: { id: row.id, status: "pending", nextAttemptAt: row.nextAttemptAt } });
    if (claimed !== 1) continue;
    await postOne(ctx, row);
  }
  return handled;
}

async function postOne(ctx: EngineContext, row: StatusOutbox): Promise<void> {
  const tenant = await ctx.models.Tenant.findByPk(row.tenantId);
  if (!tenant || tenant.status !== "active") {
    await row.update({ status: "failed", lastError: "the installation is no longer active" });
    return;
  }
  const forge = ctx.forgeFor(tenant);
  const attempt = row.attempts + 1;
  const refreshed = (row.lastError ?? "").startsWith("HTTP 401");
  const outcome = await forge.postStatus(
    tenant,
    row.repository,
    row.commit,
    { key: row.key, state: row.state, name: row.name, description: row.description, url: row.url, refname: row.refname },
    { refreshCredentials: refreshed },
  );
  const decision = retryPolicy(outcome, attempt, { tokenRefreshed: refreshed });
  if (!decision.retry) {
    const ok = "status" in outcome && outcome.status >= 200 && outcome.status < 300;
    await row.update({ attempts: attempt, status: ok ? "delivered" : "failed", lastError: ok ? null : decision.reason });
    if (!ok) ctx.log.warn("commit status not delivered", { build: row.buildId, state: row.state, reason: decision.reason });
    return;
  }
  await row.update({ attempts: attempt, nextAttemptAt: new Date(Date.now() + decision.delayMs), lastError: decision.reason });
}

/** When the next pending status is due (null when none), so the poster can sleep until then. */
export async function nextStatusDue(ctx: EngineContext): Promise<Date | null> {
  const row = await ctx.models.StatusOutbox.findOne({ where: { status: "pending" }, order: [["nextAttemptAt", "ASC"]], attributes: ["nextAttemptAt"] });
  return row ? row.nextAttemptAt : null;
}
