import { Op } from "sequelize";
import type { Delivery } from "../db/models";
import type { EngineContext } from "../builds/engine-context";
import { retryPolicy } from "../http/retry-policy";
import { MalformedEventError } from "../forges/events";
import { ForgeUnavailableError } from "../forges/forge";
import { decideEvent, type EventDecision } from "./decide-event";
import { isDatabaseUnavailable } from "./database-unavailable";

/**
 * Turns inbox rows into builds and decisions, oldest first. Idempotent: a row processed twice (two processes, or
 * a crash after the builds were made but before the row was marked) finds the builds it made by their unique key,
 * and only the processing that marks the row writes its decisions. When Bitbucket cannot answer (reading the
 * pipeline file, resolving a commit), the row stays pending and is tried again after a backoff; later rows of the
 * same tenant wait behind it, so builds of one ref are always made in push order.
 */
interface Outcome {
  delivery: Delivery;
  status: "processed" | "failed";
  decisions: EventDecision[];
}

export class Processor {
  /** Delivery id → when it may be tried again, and how many times it was tried. */
  private readonly backoff = new Map<number, { notBefore: number; attempts: number }>();

  constructor(private readonly ctx: EngineContext) {}

  /** Processes what is pending; returns how many rows were settled. */
  async processPending(batch = 50): Promise<number> {
    const { models } = this.ctx;
    const pending = await models.Delivery.findAll({ where: { status: "pending" }, order: [["id", "ASC"]], limit: batch });
    const blockedTenants = new Set<number>();
    // Decisions are written together at the end of the batch: one commit for many deliveries, so that a burst of
    // webhooks is not slowed down by a commit per delivery. A crash before it only means the batch is decided again
    // (its builds are found by their keys).
    const outcomes: Outcome[] = [];
    for (const delivery of pending) {
      if (blockedTenants.has(delivery.tenantId)) continue;
      const wait = this.backoff.get(delivery.id);
      if (wait && wait.notBefore > Date.now()) {
        blockedTenants.add(delivery.tenantId);
        continue;
      }
      try {
        outcomes.push(await this.decide(delivery));
        this.backoff.delete(delivery.id);
      } catch (err) {
        blockedTenants.add(delivery.tenantId);
        if (isDatabaseUnavailable(err)) throw err;
        if (!(err instanceof ForgeUnavailableError)) {
          // A delivery that breaks the processor must not block the ones behind it: it is settled as failed, with why.
          this.ctx.log.error("delivery could not be processed", { delivery: delivery.deliveryId, error: (err as Error).message });
          const reason = `Pipelines failed on this delivery: ${(err as Error).message}`;
          outcomes.push({ delivery, status: "failed", decisions: [{ applicationId: null, repository: "", ref: null, commit: null, outcome: "invalid", reason, buildId: null }] });
          continue;
        }
        const attempts = (wait?.attempts ?? 0) + 1;
        const decision = retryPolicy(err.outcome, attempts, { maxAttempts: Number.MAX_SAFE_INTEGER });
        const delayMs = decision.retry ? decision.delayMs : 60_000;
        this.backoff.set(delivery.id, { notBefore: Date.now() + Math.min(delayMs, 5 * 60_000), attempts });
        this.ctx.log.warn("delivery waits: Bitbucket cannot answer", { delivery: delivery.deliveryId, error: err.message, retryInMs: delayMs });
      }
    }
    return this.settle(outcomes);
  }

  /** The earliest time a backed-off delivery may be tried again (ms since epoch), or null. */
  nextRetryAt(): number | null {
    let next: number | null = null;
    for (const { notBefore } of this.backoff.values()) next = next === null ? notBefore : Math.min(next, notBefore);
    return next;
  }

  /** What one delivery comes to (builds are made on the way); nothing about the delivery itself is written yet. */
  private async decide(delivery: Delivery): Promise<Outcome> {
    const { models } = this.ctx;
    const tenant = await models.Tenant.findByPk(delivery.tenantId);
    const decisions: EventDecision[] = [];
    let status: "processed" | "failed" = "processed";
    if (!tenant || tenant.status !== "active") {
      decisions.push({ applicationId: null, repository: "", ref: null, commit: null, outcome: "inactive", reason: "the installation was uninstalled", buildId: null });
    } else {
      let parsed;
      try {
        parsed = this.ctx.forgeFor(tenant).parseDelivery(delivery.eventKey, delivery.body);
      } catch (err) {
        if (!(err instanceof MalformedEventError)) throw err;
        status = "failed";
        decisions.push({ applicationId: null, repository: "", ref: null, commit: null, outcome: "invalid", reason: err.message, buildId: null });
      }
      if (parsed) {
        // Every line logged while deciding carries the delivery's id.
        const ctx = { ...this.ctx, log: this.ctx.log.child({ delivery: delivery.deliveryId, tenant: tenant.id }) };
        for (const event of parsed.events) decisions.push(await decideEvent(ctx, tenant, event, delivery.id));
        // Listed with the repository's application when the parser could say which repository it was about.
        for (const i of parsed.ignored) {
          decisions.push({ applicationId: null, repository: i.repository ?? "", ref: i.ref ?? null, commit: i.commit ?? null, outcome: "ignored", reason: i.reason, buildId: null });
        }
      }
    }
    return { delivery, status, decisions };
  }

  /**
   * Marks deliveries settled and stores their decisions, in one transaction; a delivery another process settled
   * first keeps that process's decisions. Returns how many this call settled.
   */
  private async settle(outcomes: Outcome[]): Promise<number> {
    if (outcomes.length === 0) return 0;
    const { models } = this.ctx;
    return models.sequelize.transaction(async (tx) => {
      let settled = 0;
      const rows = [];
      for (const { delivery, status, decisions } of outcomes) {
        const [marked] = await models.Delivery.update(
          { status, processedAt: new Date(), outcome: JSON.stringify(decisions.map((d) => ({ outcome: d.outcome, reason: d.reason, ref: d.ref }))) },
          { where: { id: delivery.id, status: "pending" }, transaction: tx },
        );
        if (marked !== 1) continue;
        settled++;
        for (const d of decisions) {
          rows.push({
            tenantId: delivery.tenantId,
            deliveryId: delivery.id,
            applicationId: d.applicationId,
            repository: d.repository || null,
            event: delivery.eventKey,
            ref: d.ref,
            commit: d.commit,
            outcome: d.outcome,
            reason: d.reason,
            buildId: d.buildId,
          });
        }
      }
      if (rows.length) await models.Decision.bulkCreate(rows, { transaction: tx });
      return settled;
    });
  }
}

/** Deliveries still waiting for the processor (for the health page and tests). */
export function pendingDeliveries(ctx: EngineContext): Promise<number> {
  return ctx.models.Delivery.count({ where: { status: { [Op.eq]: "pending" } } });
}
