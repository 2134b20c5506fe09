import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";
import express, { type Express } from "express";
import { Pool } from "../lib/pg";
import sqlite3 from "sqlite3";

/**
 * The intake benchmark's baseline: the least a durable webhook receiver must do, written plainly — `express.json()`
 * (keeping the raw bytes), the same HS256 check as Connect's (tenant by `iss`, its key cached as a KeyObject,
 * signature compared in constant time, exp/iat with leeway, qsh of the request), the raw body appended to a
 * table of the same database kind as the service's in that run (sqlite file in WAL mode, or Postgres) with group
 * commit, then 202. No dedupe, no processor, no logging, no metrics: what the service adds on top is what is measured.
 */

/** Appends rows and resolves once they are committed. */
interface Appender {
  append(rows: Array<[string, string, string]>): Promise<void>;
  close(): Promise<void>;
}

const CREATE = "CREATE TABLE IF NOT EXISTS received (id INTEGER PRIMARY KEY AUTOINCREMENT, client_key TEXT NOT NULL, delivery_id TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL)";

async function sqliteAppender(file: string): Promise<Appender> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(d)));
  });
  const run = (sql: string, params: unknown[] = []) => new Promise<void>((ok, fail) => void db.run(sql, params, (e: Error | null) => (e ? fail(e) : ok())));
  db.configure("busyTimeout", 5000);
  await run("PRAGMA journal_mode = WAL");
  await run(CREATE);
  return {
    append: (rows) => {
      const now = new Date().toISOString();
      return run(`INSERT INTO received (client_key, delivery_id, body, created_at) VALUES ${rows.map(() => "(?, ?, ?, ?)").join(", ")}`, rows.flatMap((r) => [...r, now]));
    },
    close: () => new Promise((ok, fail) => db.close((e) => (e ? fail(e) : ok()))),
  };
}

async function postgresAppender(url: string): Promise<Appender> {
  const u = new URL(url);
  const schema = u.searchParams.get("schema");
  u.searchParams.delete("schema");
  const pool = new Pool({ connectionString: u.toString(), max: 10, ...(schema ? { options: `-c search_path="${schema}"` } : {}) });
  if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await pool.query(CREATE.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY"));
  return {
    append: async (rows) => {
      const now = new Date().toISOString();
      await pool.query(`INSERT INTO received (client_key, delivery_id, body, created_at) VALUES ${rows.map((_, i) => `($${i * 4 + 1}, $${i * 4 + 2}, $${i * 4 + 3}, $${i * 4 + 4})`).join(", ")}`, rows.flatMap((r) => [...r, now]));
    },
    close: () => pool.end(),
  };
}

/** Group commit: what arrives while a statement runs goes in the next one (at most 500 rows, two statements in flight). */
function groupCommit(appender: Appender): (row: [string, string, string]) => Promise<void> {
  let queue: Array<{ row: [string, string, string]; done: (err?: unknown) => void }> = [];
  let inFlight = 0;
  const pump = () => {
    while (inFlight < 2 && queue.length > 0) {
      const batch = queue.slice(0, 500);
      queue = queue.slice(500);
      inFlight++;
      appender
        .append(batch.map((b) => b.row))
        .then(
          () => batch.forEach((b) => b.done()),
          (err: unknown) => batch.forEach((b) => b.done(err ?? new Error("append failed"))),
        )
        .finally(() => {
          inFlight--;
          pump();
        });
    }
  };
  return (row) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ row, done: (err) => (err ? reject(err) : resolve()) });
      pump();
    });
}

const b64json = (part: string): Record<string, unknown> => JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
/** The qsh of a request without a query string, computed per request as the service does (never a constant). */
const qshOf = (method: string, path: string) => createHash("sha256").update(`${method.toUpperCase()}&${path}&`).digest("hex");

/** The HS256 check of a Connect token, with a KeyObject per tenant made once: the tenant's clientKey when it passes, else null. */
function connectCheck(secrets: Map<string, string>): (authorization: string | undefined, method: string, path: string) => string | null {
  const keys = new Map<string, KeyObject>();
  return (authorization, method, path) => {
    if (!authorization?.startsWith("JWT ")) return null;
    const parts = authorization.slice(4).split(".");
    if (parts.length !== 3) return null;
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = b64json(parts[0]);
      claims = b64json(parts[1]);
    } catch {
      return null;
    }
    if (header.alg !== "HS256" || typeof claims.iss !== "string") return null;
    let key = keys.get(claims.iss);
    if (!key) {
      const secret = secrets.get(claims.iss);
      if (!secret) return null;
      keys.set(claims.iss, (key = createSecretKey(Buffer.from(secret, "utf8"))));
    }
    const expected = createHmac("sha256", key).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== "number" || claims.exp + 30 < now || typeof claims.iat !== "number" || claims.iat - 30 > now) return null;
    if (claims.qsh !== qshOf(method, path)) return null;
    return claims.iss;
  };
}

/** The durable receiver's app and what to close afterwards. `database`: `sqlite:<file>` or a postgres URL. */
export async function durableReceiver(database: string, secrets: Map<string, string>): Promise<{ app: Express; close(): Promise<void> }> {
  const appender = database.startsWith("sqlite:") ? await sqliteAppender(database.slice("sqlite:".length)) : await postgresAppender(database);
  const append = groupCommit(appender);
  const check = connectCheck(secrets);
  const app = express();
  app.post(
    "/webhook",
    express.json({ limit: "1mb", verify: (req, _res, buf) => void ((req as unknown as { raw: Buffer }).raw = buf) }),
    (req, res) => {
      const clientKey = check(req.get("Authorization"), req.method, req.path);
      if (!clientKey) return void res.status(401).end();
      const deliveryId = req.get("X-Request-UUID");
      const raw = (req as unknown as { raw?: Buffer }).raw;
      if (!deliveryId || !raw || typeof req.body !== "object") return void res.status(400).end();
      append([clientKey, deliveryId, raw.toString("utf8")]).then(
        () => void res.status(202).end(),
        () => void res.status(503).end(),
      );
    },
  );
  return { app, close: () => appender.close() };
}
