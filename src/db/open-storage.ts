import type { Config } from "../config/load-config";
import type { Logger } from "../log/logger";
import { loadSecretKey } from "./crypto/load-key";
import { SecretBox } from "./crypto/secret-box";
import { openDatabase } from "./database";
import { migrate } from "./migrate";
import { defineModels, type Models } from "./models";

export interface Storage {
  models: Models;
  box: SecretBox;
  close(): Promise<void>;
}

/** Opens the database, applies pending migrations and defines the models: what every process that stores anything needs. */
export async function openStorage(config: Config, log: Logger): Promise<Storage> {
  const box = new SecretBox(loadSecretKey(config, log));
  const sequelize = await openDatabase(config.database, log);
  try {
    await migrate(sequelize, log);
  } catch (err) {
    await sequelize.close();
    throw err;
  }
  const models = defineModels(sequelize, box);
  return { models, box, close: () => sequelize.close() };
}
