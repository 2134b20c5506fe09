import { UniqueConstraintError } from "sequelize";
import type { Models } from "../db/models";
import type { DeliveryStatus } from "../db/models/delivery";

export interface IncomingDelivery {
  tenantId: number;
  deliveryId: string;
  eventKey: string;
  hookUuid: string | null;
  attempt: number | null;
  body: string;
  status: Extract<DeliveryStatus, "pending" | "ignored">;
  outcome?: string | null;
}

/**
 * Writes a delivery to the inbox. Returns "duplicate" when (tenant, delivery id) is already there: Bitbucket
 * retried a delivery we had already committed, and nothing more must happen.
 */
export async function recordDelivery(models: Models, d: IncomingDelivery): Promise<"stored" | "duplicate"> {
  try {
    await models.Delivery.create({ ...d, outcome: d.outcome ?? null });
    return "stored";
  } catch (err) {
    if (err instanceof UniqueConstraintError) return "duplicate";
    throw err;
  }
}
