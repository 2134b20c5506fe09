import fs from "node:fs";
import path from "node:path";
import { ConfigError } from "./config-error";
import { parseDatabaseUrl, type DatabaseTarget } from "./database-url";
import { loadExecutorSettings, type ExecutorSettings } from "./executor-settings";
import { loadMetricsSettings, type MetricsSettings } from "./metrics-settings";

export type Mode = "production" | "development" | "test";

/** Everything the service reads from config.json and the environment, validated once at start. */
export interface Config {
  mode: Mode;
  port: number;
  /** The public base URL of the app (what Bitbucket calls); the descriptor's `{{localBaseUrl}}`. */
  baseUrl: string;
  dataDir: string;
  database: DatabaseTarget;
  /** PIPELINES_SECRET_KEY, or undefined outside production (a development key is then kept in dataDir). */
  secretKey?: Buffer;
  /** Hosts a Connect install may come from (`baseUrl` of the install payload). */
  allowedHosts: string[];
  /** Builds that may run at once per tenant. */
  concurrencyPerTenant: number;
  /** Bytes of log stored per step before it is cut. */
  logCapBytes: number;
  /** Whether `npm start` runs a runner inside the web process. */
  inProcessRunner: boolean;
  /** Jobs the in-process runner runs at once. */
  runnerSlots: number;
  /** How the in-process runner isolates steps. */
  executor: ExecutorSettings;
  /** Labels of the in-process runner (PIPELINES_RUNNER_LABELS), besides `self.hosted` and its OS. */
  runnerLabels: string[];
  /** A job no connected runner can take (its `runs-on` labels) fails after waiting this long (PIPELINES_QUEUE_TIMEOUT). */
  queueTimeoutMs: number;
  /** Bearer token of the administrator's pages (`/admin/…`: the runners); null: those pages are off (404). */
  adminToken: string | null;
  /** The raw config.json, handed to ACE. */
  aceConfig: Record<string, unknown>;
  /** The OAuth consumer ("Connect Bitbucket"), or null when none is configured. The secret is never logged. */
  oauth: { key: string; secret: string } | null;
  /** Bitbucket Cloud's site (authorize, token endpoint, git) and API, for OAuth connections. */
  bitbucketUrl: string;
  bitbucketApiUrl: string;
  /** The Forge app this service is the remote of (`ari:cloud:ecosystem::app/<uuid>`), or null: the Forge door is off. */
  forgeAppId: string | null;
  /** Where Forge's signing keys are published (the JWKS that Forge Invocation Tokens are verified against). */
  forgeJwksUrl: string;
  /** How pipeline files are read: limits per file, the time one file may take, the worker threads that read them. */
  pipelineFile: PipelineFileSettings;
  /** Artifacts and caches on the server: where they are kept, how big they may be, how long they are kept. */
  storage: StorageSettings;
  /** Who may read /metrics: a bearer token, a separate port, or nobody (see metrics-settings.ts). */
  metrics: MetricsSettings;
}

/** PIPELINES_STORAGE_DIR, PIPELINES_ARTIFACT_MAX_BYTES, _CACHE_MAX_BYTES, _ARTIFACT_EXPIRY_DAYS, _CACHE_EXPIRY_DAYS. */
export interface StorageSettings {
  /** The blob store's directory (default `<data dir>/storage`). */
  dir: string;
  /** Bytes of artifacts (tar.gz) one step may upload, all its artifacts together. Default 1 GiB. */
  artifactMaxBytes: number;
  /** Bytes of one cache (tar.gz). Default 1 GiB. */
  cacheMaxBytes: number;
  /** Artifacts are removed this many days after they were made. Default 14. */
  artifactExpiryDays: number;
  /** Caches are removed this many days after a step last restored them. Default 7. */
  cacheExpiryDays: number;
}

/** See `src/pipelines/limits.ts` and `src/pipelines/worker/file-checker.ts`. */
export interface PipelineFileSettings {
  maxBytes: number;
  maxDepth: number;
  maxNodes: number;
  timeBudgetMs: number;
  workers: number;
}

function urlSetting(name: string, raw: unknown, fallback: string): string {
  if (raw === undefined || raw === "") return fallback;
  try {
    const u = new URL(String(raw));
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error("not http(s)");
    return u.toString().replace(/\/+$/, "");
  } catch {
    throw new ConfigError(name, `is not an http(s) URL (got "${String(raw)}")`);
  }
}

/** PIPELINES_OAUTH_KEY / PIPELINES_OAUTH_SECRET, or config.json `pipelines.oauth.{key,secret}`: both or neither. */
function oauthSetting(env: Env, pipelines: Record<string, unknown>): { key: string; secret: string } | null {
  const json = (pipelines.oauth ?? {}) as Record<string, unknown>;
  const key = env.PIPELINES_OAUTH_KEY ?? (typeof json.key === "string" ? json.key : undefined);
  const secret = env.PIPELINES_OAUTH_SECRET ?? (typeof json.secret === "string" ? json.secret : undefined);
  if (!key && !secret) return null;
  if (!key) throw new ConfigError("PIPELINES_OAUTH_KEY", "is required when an OAuth consumer secret is set (the consumer's Key in Bitbucket)");
  if (!secret) throw new ConfigError("PIPELINES_OAUTH_SECRET", "is required when an OAuth consumer key is set (the consumer's Secret in Bitbucket)");
  return { key, secret };
}

type Env = Record<string, string | undefined>;

const FORGE_APP_ARI = /^ari:cloud:ecosystem::app\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** PIPELINES_FORGE_APP_ID (or config.json `pipelines.forgeAppId`): the app's id as `forge register` printed it, or the bare uuid. */
function forgeAppIdSetting(raw: unknown): string | null {
  if (raw === undefined || raw === "") return null;
  const value = String(raw).trim();
  const ari = value.startsWith("ari:") ? value : `ari:cloud:ecosystem::app/${value}`;
  if (!FORGE_APP_ARI.test(ari)) throw new ConfigError("PIPELINES_FORGE_APP_ID", `must be the Forge app's id, ari:cloud:ecosystem::app/<uuid> (got "${value}")`);
  return ari;
}

function readConfigJson(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) return {};
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(path.basename(file), `is not valid JSON (${(err as Error).message})`);
  }
}

function intSetting(name: string, raw: unknown, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const n = typeof raw === "number" ? raw : Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(name, `must be a whole number from ${min} to ${max} (got "${String(raw)}")`);
  return n;
}

/** A duration: seconds (`9000`), or a number with a unit `s`, `m` or `h` (`150m`, `2.5h`). */
function durationSetting(name: string, raw: unknown, fallbackMs: number, minMs: number): number {
  if (raw === undefined || raw === "") return fallbackMs;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(String(raw));
  const ms = m ? Math.round(Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "s" | "m" | "h"]) : NaN;
  if (!Number.isFinite(ms) || ms < minMs) throw new ConfigError(name, `must be a duration of at least ${minMs / 1000} s: seconds, or with a unit as in 150m or 2.5h (got "${String(raw)}")`);
  return ms;
}

/** A comma-separated list of runner labels. */
function labelsSetting(name: string, raw: unknown): string[] {
  if (raw === undefined || raw === "") return [];
  const list = (Array.isArray(raw) ? raw.map(String) : String(raw).split(",")).map((l) => l.trim().toLowerCase()).filter(Boolean);
  const bad = list.find((l) => !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(l));
  if (bad !== undefined) throw new ConfigError(name, `"${bad}" is not a runner label: lower-case letters, digits and . _ -, at most 64`);
  return list;
}

/** A secret token setting: at least 24 characters, or null when unset. */
function tokenSetting(name: string, raw: unknown): string | null {
  if (raw === undefined || raw === "") return null;
  const value = String(raw).trim();
  if (value.length < 24) throw new ConfigError(name, "must be at least 24 characters (openssl rand -hex 24)");
  return value;
}

function boolSetting(name: string, raw: unknown, fallback: boolean): boolean {
  if (raw === undefined || raw === "") return fallback;
  if (raw === true || raw === "true" || raw === "1") return true;
  if (raw === false || raw === "false" || raw === "0") return false;
  throw new ConfigError(name, `must be true or false (got "${String(raw)}")`);
}

/** Parses PIPELINES_SECRET_KEY: 32 bytes, as 64 hex characters or base64. */
export function parseSecretKey(raw: string, setting = "PIPELINES_SECRET_KEY"): Buffer {
  const v = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, "hex") : Buffer.from(v, "base64");
  if (key.length !== 32) throw new ConfigError(setting, "must be 32 random bytes, as 64 hex characters or base64 (openssl rand -base64 32)");
  return key;
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const nodeEnv = env.NODE_ENV ?? "development";
  if (!["production", "development", "test"].includes(nodeEnv)) {
    throw new ConfigError("NODE_ENV", `must be production, development or test (got "${nodeEnv}")`);
  }
  const mode = nodeEnv as Mode;
  const json = readConfigJson(path.join(cwd, "config.json"));
  const section = ((mode === "production" ? json.production : json.development) ?? {}) as Record<string, unknown>;
  const pipelines = (json.pipelines ?? {}) as Record<string, unknown>;

  const port = intSetting("PORT", env.PORT ?? section.port, 3000, 0, 65535);
  const dataDir = path.resolve(cwd, env.PIPELINES_DATA_DIR ?? "data");
  const database = parseDatabaseUrl(env.DATABASE_URL, dataDir);

  const rawBase = env.PIPELINES_BASE_URL ?? env.AC_LOCAL_BASE_URL ?? (section.localBaseUrl as string | undefined) ?? `http://localhost:${port}`;
  let baseUrl: string;
  try {
    baseUrl = new URL(rawBase.replace("$port", String(port))).toString().replace(/\/$/, "");
  } catch {
    throw new ConfigError("PIPELINES_BASE_URL", `is not a URL (got "${rawBase}")`);
  }
  if (mode === "production" && !baseUrl.startsWith("https://")) {
    throw new ConfigError("PIPELINES_BASE_URL", "must be an https:// URL in production (Bitbucket only calls apps over https)");
  }

  let secretKey: Buffer | undefined;
  if (env.PIPELINES_SECRET_KEY) secretKey = parseSecretKey(env.PIPELINES_SECRET_KEY);
  else if (mode === "production") {
    throw new ConfigError("PIPELINES_SECRET_KEY", "is required in production: 32 random bytes (openssl rand -base64 32) that encrypt secrets at rest");
  }

  const hostsRaw = env.PIPELINES_ALLOWED_HOSTS ?? (Array.isArray(section.whitelist) ? (section.whitelist as string[]).join(",") : undefined);
  const allowedHosts = (hostsRaw ?? "bitbucket.org").split(",").map((h) => h.trim()).filter(Boolean);
  if (allowedHosts.length === 0) throw new ConfigError("whitelist", "must name at least one Bitbucket host");

  const runnerSlots = intSetting("PIPELINES_RUNNER_SLOTS", env.PIPELINES_RUNNER_SLOTS ?? pipelines.runnerSlots, 2, 1, 64);
  return {
    mode,
    port,
    baseUrl,
    dataDir,
    database,
    secretKey,
    allowedHosts,
    concurrencyPerTenant: intSetting("PIPELINES_CONCURRENCY_PER_TENANT", env.PIPELINES_CONCURRENCY_PER_TENANT ?? pipelines.concurrencyPerTenant, 4, 1, 1000),
    logCapBytes: intSetting("PIPELINES_LOG_CAP_BYTES", env.PIPELINES_LOG_CAP_BYTES ?? pipelines.logCapBytes, 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    inProcessRunner: boolSetting("PIPELINES_IN_PROCESS_RUNNER", env.PIPELINES_IN_PROCESS_RUNNER ?? pipelines.inProcessRunner, true),
    runnerSlots,
    executor: loadExecutorSettings(env, runnerSlots),
    runnerLabels: labelsSetting("PIPELINES_RUNNER_LABELS", env.PIPELINES_RUNNER_LABELS ?? pipelines.runnerLabels),
    queueTimeoutMs: durationSetting("PIPELINES_QUEUE_TIMEOUT", env.PIPELINES_QUEUE_TIMEOUT ?? pipelines.queueTimeout, 2.5 * 3_600_000, 1000),
    adminToken: tokenSetting("PIPELINES_ADMIN_TOKEN", env.PIPELINES_ADMIN_TOKEN),
    aceConfig: json,
    oauth: oauthSetting(env, pipelines),
    bitbucketUrl: urlSetting("PIPELINES_BITBUCKET_URL", env.PIPELINES_BITBUCKET_URL ?? pipelines.bitbucketUrl, "https://bitbucket.org"),
    bitbucketApiUrl: urlSetting("PIPELINES_BITBUCKET_API_URL", env.PIPELINES_BITBUCKET_API_URL ?? pipelines.bitbucketApiUrl, "https://api.bitbucket.org"),
    forgeAppId: forgeAppIdSetting(env.PIPELINES_FORGE_APP_ID ?? pipelines.forgeAppId),
    forgeJwksUrl: urlSetting("PIPELINES_FORGE_JWKS_URL", env.PIPELINES_FORGE_JWKS_URL ?? pipelines.forgeJwksUrl, "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"),
    pipelineFile: pipelineFileSettings(env, (pipelines.pipelineFile ?? {}) as Record<string, unknown>),
    storage: storageSettings(env, (pipelines.storage ?? {}) as Record<string, unknown>, dataDir, cwd),
    metrics: loadMetricsSettings(env),
  };
}

const GIB = 1024 * 1024 * 1024;

/** See StorageSettings; also config.json `pipelines.storage.{dir, artifactMaxBytes, cacheMaxBytes, artifactExpiryDays, cacheExpiryDays}`. */
function storageSettings(env: Env, json: Record<string, unknown>, dataDir: string, cwd: string): StorageSettings {
  const dir = env.PIPELINES_STORAGE_DIR ?? (typeof json.dir === "string" ? json.dir : undefined);
  return {
    dir: dir ? path.resolve(cwd, dir) : path.join(dataDir, "storage"),
    artifactMaxBytes: intSetting("PIPELINES_ARTIFACT_MAX_BYTES", env.PIPELINES_ARTIFACT_MAX_BYTES ?? json.artifactMaxBytes, GIB, 1024, 1024 * GIB),
    cacheMaxBytes: intSetting("PIPELINES_CACHE_MAX_BYTES", env.PIPELINES_CACHE_MAX_BYTES ?? json.cacheMaxBytes, GIB, 1024, 1024 * GIB),
    artifactExpiryDays: intSetting("PIPELINES_ARTIFACT_EXPIRY_DAYS", env.PIPELINES_ARTIFACT_EXPIRY_DAYS ?? json.artifactExpiryDays, 14, 1, 3650),
    cacheExpiryDays: intSetting("PIPELINES_CACHE_EXPIRY_DAYS", env.PIPELINES_CACHE_EXPIRY_DAYS ?? json.cacheExpiryDays, 7, 1, 3650),
  };
}

/**
 * PIPELINES_FILE_MAX_BYTES, _MAX_DEPTH, _MAX_NODES, _TIME_BUDGET_MS, _WORKERS, or config.json
 * `pipelines.pipelineFile.{maxBytes, maxDepth, maxNodes, timeBudgetMs, workers}`.
 */
function pipelineFileSettings(env: Env, json: Record<string, unknown>): PipelineFileSettings {
  return {
    maxBytes: intSetting("PIPELINES_FILE_MAX_BYTES", env.PIPELINES_FILE_MAX_BYTES ?? json.maxBytes, 128 * 1024, 1024, 16 * 1024 * 1024),
    maxDepth: intSetting("PIPELINES_FILE_MAX_DEPTH", env.PIPELINES_FILE_MAX_DEPTH ?? json.maxDepth, 64, 8, 1000),
    maxNodes: intSetting("PIPELINES_FILE_MAX_NODES", env.PIPELINES_FILE_MAX_NODES ?? json.maxNodes, 20_000, 100, 10_000_000),
    timeBudgetMs: intSetting("PIPELINES_FILE_TIME_BUDGET_MS", env.PIPELINES_FILE_TIME_BUDGET_MS ?? json.timeBudgetMs, 3000, 50, 60_000),
    workers: intSetting("PIPELINES_FILE_WORKERS", env.PIPELINES_FILE_WORKERS ?? json.workers, 1, 1, 4),
  };
}
