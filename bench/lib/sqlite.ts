import sqlite3 from "sqlite3";

/** A sqlite file opened with the `sqlite3` package, promisified: what the benchmarks need and nothing more. */
export interface SqliteFile {
  run(sql: string, params?: unknown[]): Promise<void>;
  get<T>(sql: string, params?: unknown[]): Promise<T | undefined>;
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export function openSqlite(file: string, mode = sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE): Promise<SqliteFile> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, mode, (err) => {
      if (err) return reject(err);
      resolve({
        run: (sql, params = []) => new Promise((ok, fail) => void db.run(sql, params, (e: Error | null) => (e ? fail(e) : ok()))),
        get: <T>(sql: string, params: unknown[] = []) =>
          new Promise<T | undefined>((ok, fail) => void db.get<T>(sql, params, (e, row) => (e ? fail(e) : ok(row)))),
        all: <T>(sql: string, params: unknown[] = []) =>
          new Promise<T[]>((ok, fail) => void db.all<T>(sql, params, (e, rows) => (e ? fail(e) : ok(rows)))),
        close: () => new Promise((ok, fail) => db.close((e) => (e ? fail(e) : ok()))),
      });
    });
  });
}
