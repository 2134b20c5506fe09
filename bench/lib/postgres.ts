import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { Sequelize } from "sequelize";

/** The Postgres database benchmarks use: BENCH_DATABASE_URL, else the machine's (as CI's Postgres run uses it). */
const BASE_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface BenchSchema {
  /** DATABASE_URL for the service: the database with `?schema=<fresh schema>` (created by the service on start). */
  url: string;
  /** Drops the schema. */
  drop(): Promise<void>;
}

/**
 * A fresh schema in the benchmarks' Postgres database (started first with `scripts/ensure-postgres.sh` when it is
 * the machine's own), dropped afterwards: the service runs its migrations into it, as a test server does.
 */
export function postgresSchema(prefix: string): BenchSchema {
  if (!process.env.BENCH_DATABASE_URL) {
    execFileSync("bash", [path.resolve(__dirname, "..", "..", "scripts", "ensure-postgres.sh")], { stdio: "inherit" });
  }
  const schema = `${prefix}_${process.pid}_${randomBytes(3).toString("hex")}`;
  const u = new URL(BASE_URL);
  u.searchParams.set("schema", schema);
  return {
    url: u.toString(),
    async drop() {
      const admin = new Sequelize(BASE_URL, { logging: false });
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.close();
      }
    },
  };
}
