import { AsyncLocalStorage } from "node:async_hooks";
import type { Sequelize } from "sequelize";

/**
 * sqlite has one writer at a time. node-sqlite3 runs statements on libuv's small thread pool, and a statement that
 * waits for the write lock blocks its thread: with a few writers waiting, the transaction that holds the lock can
 * get no thread for its next statement, and everything stalls until the busy timeout. So, in this process, writes
 * wait their turn in JavaScript instead: every transaction, and every write outside one, runs after the previous
 * one ended. Reads never wait (WAL lets them run beside the writer). Re-entrant: what runs inside a transaction's
 * callback is part of it.
 */
type Exclusive = <T>(fn: () => Promise<T>) => Promise<T>;
const queues = new WeakMap<Sequelize, Exclusive>();

/**
 * Runs `fn` — a write that does not go through `sequelize.query` (a statement on the raw sqlite3 connection) — in
 * its turn among this process's writes. Only for a sequelize instance whose writes are queued (sqlite).
 */
export function inSqliteWriteTurn<T>(sequelize: Sequelize, fn: () => Promise<T>): Promise<T> {
  const exclusive = queues.get(sequelize);
  if (!exclusive) throw new Error("sqlite writes are not queued for this database");
  return exclusive(fn);
}

export function queueSqliteWrites(sequelize: Sequelize): void {
  const inside = new AsyncLocalStorage<true>();
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive: Exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    if (inside.getStore()) return fn();
    const run = tail.then(() => inside.run(true, fn));
    tail = run.catch(() => undefined);
    return run;
  };
  queues.set(sequelize, exclusive);

  const transaction = sequelize.transaction.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  (sequelize as unknown as { transaction: (...args: unknown[]) => Promise<unknown> }).transaction = (...args: unknown[]) => {
    if (!args.some((a) => typeof a === "function")) throw new Error("sqlite: use managed transactions (sequelize.transaction(async (tx) => …))");
    return exclusive(() => transaction(...args));
  };

  const query = sequelize.query.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  (sequelize as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (sql: unknown, options?: unknown) => {
    const text = typeof sql === "string" ? sql : typeof sql === "object" && sql !== null && "query" in sql ? String((sql as { query: unknown }).query) : "";
    const inTransaction = typeof options === "object" && options !== null && (options as { transaction?: unknown }).transaction;
    if (inTransaction || /^\s*(SELECT|PRAGMA)\b/i.test(text)) {
      return query(sql, options);
    }
    return exclusive(() => query(sql, options));
  };
}
