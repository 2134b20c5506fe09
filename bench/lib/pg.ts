/**
 * The `pg` driver (installed for sequelize's Postgres dialect, without type declarations), typed as far as the
 * benchmarks use it.
 */
export interface PgQueryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}
export interface PgPool extends PgQueryable {
  end(): Promise<void>;
}
export interface PgClient extends PgQueryable {
  connect(): Promise<void>;
  end(): Promise<void>;
}
interface PgModule {
  Pool: new (options: { connectionString: string; max?: number; options?: string }) => PgPool;
  Client: new (options: { connectionString: string; options?: string }) => PgClient;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pg = require("pg") as PgModule;
export const Pool = pg.Pool;
export const Client = pg.Client;
