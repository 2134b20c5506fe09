import { ConnectionError, TimeoutError } from "sequelize";

/**
 * True when an error means "the database cannot take this now" (down, unreachable, locked) rather than a bug:
 * the webhook is then answered 503 so that Bitbucket retries it.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof ConnectionError || err instanceof TimeoutError) return true;
  const e = err as { name?: string; original?: { code?: string }; parent?: { code?: string }; code?: string };
  const code = e?.original?.code ?? e?.parent?.code ?? e?.code;
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED" || code === "SQLITE_CANTOPEN" || code === "SQLITE_IOERR") return true;
  if (typeof code === "string" && (code.startsWith("08") || code === "57P01" || code === "57P03" || code === "53300" || code === "ECONNREFUSED")) return true;
  return e?.name === "SequelizeConnectionError" || e?.name === "SequelizeConnectionRefusedError" || e?.name === "SequelizeConnectionAcquireTimeoutError";
}
