import type { Model, ModelStatic } from "sequelize";
import { registerSecret } from "../log/logger";
import type { SecretBox } from "./crypto/secret-box";

/**
 * The one place secret columns are handled. A model lists its secret attributes; `beforeSave` seals any value
 * that was set in plain text, so a secret is never written unencrypted, and `revealSecret` decrypts on demand.
 * Plain values are never cached on the instance, so `toJSON()` and logs only ever see ciphertext.
 */
export function encryptSecretFields(model: ModelStatic<Model>, table: string, fields: string[], box: SecretBox): void {
  const seal = (instance: Model) => {
    for (const field of fields) {
      const value = instance.getDataValue(field as never) as unknown;
      if (typeof value === "string" && instance.changed(field as never) && !isSealed(value)) {
        instance.setDataValue(field as never, box.seal(value, context(table, field)) as never);
      }
    }
  };
  model.addHook("beforeSave", seal);
  model.addHook("beforeBulkCreate", (instances: Model[]) => instances.forEach(seal));
  // Model.update(values, {where}) bypasses instance hooks: seal the values it is about to write too.
  model.addHook("beforeBulkUpdate", (options: object) => {
    const attributes = (options as { attributes?: Record<string, unknown> }).attributes;
    for (const field of fields) {
      const value = attributes?.[field];
      if (attributes && typeof value === "string" && !isSealed(value)) attributes[field] = box.seal(value, context(table, field));
    }
  });
  secretBoxes.set(model, { table, box });
}

const secretBoxes = new WeakMap<ModelStatic<Model>, { table: string; box: SecretBox }>();

function context(table: string, field: string): string {
  return `${table}.${field}`;
}

function isSealed(value: string): boolean {
  return value.startsWith("v1.") && value.split(".").length === 4;
}

/** The plain text of a secret attribute (registered with the log redactor so it can never be logged). */
export function revealSecret(instance: Model, field: string): string | null {
  const value = instance.getDataValue(field as never) as unknown;
  if (value === null || value === undefined) return null;
  const entry = secretBoxes.get(instance.constructor as ModelStatic<Model>);
  if (!entry) throw new Error(`${instance.constructor.name} has no secret fields`);
  const plain = isSealed(String(value)) ? entry.box.open(String(value), context(entry.table, field)) : String(value);
  registerSecret(plain);
  return plain;
}
