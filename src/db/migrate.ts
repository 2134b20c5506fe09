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
  // Several web processes may start at once on Postgres: one migrates, the others wait for it, then find
  // nothing pending. (sqlite has one process by design.)
  const applied =
    sequelize.getDialect() === "postgres"
      ? await sequelize.transaction(async (tx) => {
          await sequelize.query("SELECT pg_advisory_xact_lock(727274)", { transaction: tx });
          return umzug.up();
        })
      : await umzug.up();
  if (applied.length) log.info("migrations applied", { migrations: applied.map((m) => m.name) });
  return applied.map((m) => m.name);
}
