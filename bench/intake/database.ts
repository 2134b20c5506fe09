import { randomBytes } from "node:crypto";
import { Client } from "../lib/pg";
import { openSqlite } from "../lib/sqlite";

/**
 * The database the intake benchmark's service and durable baseline write to, the same kind for both in one run:
 * a sqlite file each (the default), or with BENCH_INTAKE_DATABASE=postgres a fresh schema each in
 * BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test), dropped afterwards.
 */
export type DatabaseKind = "sqlite" | "postgres";

export function benchDatabaseKind(): DatabaseKind {
  const kind = process.env.BENCH_INTAKE_DATABASE ?? "sqlite";
  if (kind !== "sqlite" && kind !== "postgres") throw new Error(`BENCH_INTAKE_DATABASE must be sqlite or postgres (got "${kind}")`);
  return kind;
}

const postgresBase = () => process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A fresh Postgres schema's URL (`?schema=`), as the service's DATABASE_URL takes it. */
export function freshPostgresUrl(prefix: string): string {
  const u = new URL(postgresBase());
  u.searchParams.set("schema", `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`);
  return u.toString();
}

function splitSchema(url: string): { url: string; schema: string | null } {
  const u = new URL(url);
  const schema = u.searchParams.get("schema");
  u.searchParams.delete("schema");
  return { url: u.toString(), schema };
}

export async function dropPostgresSchema(url: string): Promise<void> {
  const { url: base, schema } = splitSchema(url);
  if (!schema) return;
  const client = new Client({ connectionString: base });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Runs one read-only query against the run's database (`sqlite:<file>` or a postgres URL with `?schema=`). */
export async function queryRows<T>(database: string, sql: string): Promise<T[]> {
  if (database.startsWith("sqlite:")) {
    const db = await openSqlite(database.slice("sqlite:".length));
    try {
      return await db.all<T>(sql);
    } finally {
      await db.close();
    }
  }
  const { url, schema } = splitSchema(database);
  const client = new Client({ connectionString: url, ...(schema ? { options: `-c search_path="${schema}"` } : {}) });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}
