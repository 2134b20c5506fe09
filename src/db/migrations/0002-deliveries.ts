import { DataTypes, type QueryInterface } from "sequelize";

/** The webhook inbox: every accepted delivery, raw, unique per (tenant, delivery id). */
export async function up({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.createTable("deliveries", {
    id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true },
    tenant_id: { type: DataTypes.INTEGER, allowNull: false, references: { model: "tenants", key: "id" }, onDelete: "CASCADE" },
    delivery_id: { type: DataTypes.STRING(128), allowNull: false },
    event_key: { type: DataTypes.STRING(64), allowNull: false },
    hook_uuid: { type: DataTypes.STRING(128), allowNull: true },
    attempt: { type: DataTypes.INTEGER, allowNull: true },
    body: { type: DataTypes.TEXT, allowNull: false },
    status: { type: DataTypes.STRING(16), allowNull: false },
    outcome: { type: DataTypes.TEXT, allowNull: true },
    processed_at: { type: DataTypes.DATE, allowNull: true },
    created_at: { type: DataTypes.DATE, allowNull: false },
    updated_at: { type: DataTypes.DATE, allowNull: false },
  });
  await qi.addIndex("deliveries", ["tenant_id", "delivery_id"], { unique: true, name: "deliveries_tenant_delivery_unique" });
  await qi.addIndex("deliveries", ["status", "id"], { name: "deliveries_status_id" });
}

export async function down({ context: qi }: { context: QueryInterface }): Promise<void> {
  await qi.dropTable("deliveries");
}
