import type { Sequelize } from "sequelize";
import { SequelizeStorage, Umzug } from "umzug";
import type { Logger } from "../log/logger";
import { migrations } from "./migrations";

/** Applies every pending migration (never `sync()`); returns the names applied. */
export async function migrate(sequelize: Sequelize, log: Logger): Promise<string[]> {
  const umzug = new Umzug({
    migrations: migrations.map((m) => ({ name: m.name, up: m.up, down: m.down })),
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: "schema_migrations" }),
    logger: undefined,
  });
  const applied = await umzug.up();
  if (applied.length) log.info("migrations applied", { migrations: applied.map((m) => m.name) });
  return applied.map((m) => m.name);
}
