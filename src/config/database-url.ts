import path from "node:path";
import { ConfigError } from "./config-error";

export type DatabaseTarget =
  | { dialect: "sqlite"; storage: string }
  | { dialect: "postgres"; url: string; schema?: string };

/**
 * Reads `DATABASE_URL`: `postgres://…` / `postgresql://…` (an optional `?schema=name` selects a schema, created on
 * start), or `sqlite:<file>` / `sqlite::memory:`. Unset means the embedded default, a sqlite file in the data folder.
 */
export function parseDatabaseUrl(value: string | undefined, dataDir: string): DatabaseTarget {
  if (value === undefined || value.trim() === "") return { dialect: "sqlite", storage: path.join(dataDir, "pipelines.sqlite") };
  const v = value.trim();
  if (v === "sqlite::memory:") return { dialect: "sqlite", storage: ":memory:" };
  if (v.startsWith("sqlite:")) {
    const file = v.replace(/^sqlite:(\/\/)?/, "");
    if (!file) throw new ConfigError("DATABASE_URL", "a sqlite URL needs a file, e.g. sqlite:data/pipelines.sqlite");
    return { dialect: "sqlite", storage: path.resolve(file) };
  }
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new ConfigError("DATABASE_URL", "is not a URL; use postgres://user@host:5432/db or sqlite:path/to/file.sqlite");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new ConfigError("DATABASE_URL", `unsupported scheme "${url.protocol}"; use postgres:// or sqlite:`);
  }
  if (!url.hostname) throw new ConfigError("DATABASE_URL", "names no host");
  if (url.pathname.length <= 1) throw new ConfigError("DATABASE_URL", "names no database (postgres://user@host:5432/<database>)");
  const schema = url.searchParams.get("schema") ?? undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError("DATABASE_URL", "schema must be a lower-case identifier");
  }
  url.searchParams.delete("schema");
  return { dialect: "postgres", url: url.toString(), schema };
}
