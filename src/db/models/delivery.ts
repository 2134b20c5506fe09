import { DataTypes, type Model, type ModelStatic, type Optional, type Sequelize } from "sequelize";

/** pending: waiting for the processor; processed: turned into builds or decisions; ignored: an event we do not act on. */
export type DeliveryStatus = "pending" | "processed" | "ignored" | "failed";

export interface DeliveryAttributes {
  id: number;
  tenantId: number;
  deliveryId: string;
  eventKey: string;
  hookUuid: string | null;
  attempt: number | null;
  /** The raw request body, as received. */
  body: string;
  status: DeliveryStatus;
  /** JSON: what the processor decided for this delivery and why. */
  outcome: string | null;
  processedAt: Date | null;
  createdAt: Date;
}

export interface Delivery extends Model<DeliveryAttributes, Optional<DeliveryAttributes, "id" | "hookUuid" | "attempt" | "outcome" | "processedAt" | "createdAt">>, DeliveryAttributes {}
export type DeliveryModel = ModelStatic<Delivery>;

export function defineDelivery(sequelize: Sequelize): DeliveryModel {
  return sequelize.define<Delivery>(
    "Delivery",
    {
      id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
      tenantId: { type: DataTypes.INTEGER, allowNull: false },
      deliveryId: { type: DataTypes.STRING(128), allowNull: false },
      eventKey: { type: DataTypes.STRING(64), allowNull: false },
      hookUuid: { type: DataTypes.STRING(128) },
      attempt: { type: DataTypes.INTEGER },
      body: { type: DataTypes.TEXT, allowNull: false },
      status: { type: DataTypes.STRING(16), allowNull: false },
      outcome: { type: DataTypes.TEXT },
      processedAt: { type: DataTypes.DATE },
      createdAt: { type: DataTypes.DATE },
    },
    { tableName: "deliveries", underscored: true },
  );
}
