import fs from "node:fs";
import path from "node:path";
import { Sequelize, Transaction } from "sequelize";
import type { DatabaseTarget } from "../config/database-url";
import type { Logger } from "../log/logger";
import { queueSqliteWrites } from "./sqlite-write-queue";

/** How long a sqlite connection waits for another writer before giving up (SQLITE_BUSY). */
const SQLITE_BUSY_TIMEOUT_MS = 10_000;

interface SqliteConnection {
  configure(option: "busyTimeout", ms: number): void;
}

/**
 * Opens the database: a sqlite file by default, Postgres when DATABASE_URL says so. On Postgres an optional
 * schema (DATABASE_URL `?schema=`) is created if missing and put first on the search_path.
 */
export async function openDatabase(target: DatabaseTarget, log: Logger): Promise<Sequelize> {
  let sequelize: Sequelize;
  if (target.dialect === "sqlite") {
    if (target.storage !== ":memory:") fs.mkdirSync(path.dirname(target.storage), { recursive: true });
    // IMMEDIATE: a transaction takes the write lock when it begins, so two writers wait for each other (busy
    // timeout) instead of one failing when it upgrades from reading to writing.
    sequelize = new Sequelize({ dialect: "sqlite", storage: target.storage, logging: false, transactionType: Transaction.TYPES.IMMEDIATE });
    // sequelize opens one sqlite connection per transaction: each must wait for the write lock, not fail at once.
    const manager = sequelize.connectionManager as unknown as { getConnection(o?: unknown): Promise<SqliteConnection> };
    const getConnection = manager.getConnection.bind(manager);
    manager.getConnection = async (o?: unknown) => {
      const connection = await getConnection(o);
      connection.configure("busyTimeout", SQLITE_BUSY_TIMEOUT_MS);
      return connection;
    };
    if (target.storage !== ":memory:") await sequelize.query("PRAGMA journal_mode = WAL");
    queueSqliteWrites(sequelize);
  } else {
    if (target.schema) {
      const admin = new Sequelize(target.url, { dialect: "postgres", logging: false });
      try {
        await admin.query(`CREATE SCHEMA IF NOT EXISTS "${target.schema}"`);
      } finally {
        await admin.close();
      }
    }
    sequelize = new Sequelize(target.url, {
      dialect: "postgres",
      logging: false,
      pool: { max: 10, min: 0, idle: 10_000 },
      dialectOptions: target.schema ? { options: `-c search_path="${target.schema}"` } : {},
    });
  }
  try {
    await sequelize.authenticate();
  } catch (err) {
    await sequelize.close().catch(() => undefined);
    throw new Error(`DATABASE_URL: cannot connect to the database (${(err as Error).message})`, { cause: err });
  }
  log.debug("database open", { dialect: target.dialect });
  return sequelize;
}

export function isPostgres(sequelize: Sequelize): boolean {
  return sequelize.getDialect() === "postgres";
}
