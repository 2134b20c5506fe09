import { inspect } from "node:util";
import pino from "pino";

export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Field names whose values never reach a log, whatever object they sit in. */
const SECRET_FIELD = /secret|password|passwd|token|private_?key|authorization|cookie|jwt|credential/i;
const REDACTED = "[redacted]";

export type Sink = (line: string) => void;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/**
 * Known secret values (shared secrets, tokens…) registered as they are loaded; any log line containing one has
 * it replaced. Field-name redaction catches the rest.
 */
const knownSecrets = new Set<string>();

export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) knownSecrets.add(value);
}

export function redactText(text: string): string {
  let out = text;
  for (const s of knownSecrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

export function redactValue(value: unknown, depth = 0): unknown {
  if (depth > 6) return "[…]";
  if (typeof value === "string") return redactText(value);
  if (value instanceof Error) return { name: value.name, message: redactText(value.message), stack: value.stack ? redactText(value.stack) : undefined };
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (typeof value === "bigint") return value.toString();
  if (value && typeof value === "object") {
    if (value instanceof Date) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_FIELD.test(k) && v !== null && v !== undefined && v !== "" ? REDACTED : redactValue(v, depth + 1);
    }
    return out;
  }
  return value;
}

const sinks = new Set<Sink>();
/** Adds a place every log line also goes to (tests use it to read what was logged). */
export function addSink(sink: Sink): () => void {
  sinks.add(sink);
  return () => sinks.delete(sink);
}

function threshold(): number {
  // Tests keep every line in their sinks (a test server's `logs`) and print none: output that looks like a failure must be one.
  const level = (process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info")) as Level | "silent";
  return ORDER[level] ?? ORDER.info;
}

/** The level of the line being written, set just before pino serialises it (pino writes synchronously). */
let writing: Level = "info";

/**
 * Where pino's JSON lines go: every sink, and stderr when the line's level is at or above LOG_LEVEL. The whole line
 * passes through value redaction once more, so a registered secret never leaves even if it hid in a key or a
 * serialiser's output.
 */
const destination = {
  write(line: string): void {
    const text = redactText(line.endsWith("\n") ? line.slice(0, -1) : line);
    for (const sink of sinks) sink(text);
    if (ORDER[writing] >= threshold()) process.stderr.write(text + "\n");
  },
};

/**
 * One JSON object per line: `{"level":"info","time":"…","msg":"…",…fields}`. Fields are redacted before pino sees
 * them (secret-looking names anywhere in the object, registered secret values anywhere in a string).
 */
const root = pino(
  {
    level: "debug",
    base: null,
    messageKey: "msg",
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  destination,
);

/**
 * A Logger over a pino logger made on first use: a child logger made per request or per delivery costs nothing
 * until a line is written through it (most write none).
 */
function wrap(make: () => pino.Logger): Logger {
  let made: pino.Logger | null = null;
  const p = () => (made ??= make());
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    // Nothing reads the line: skip serialising it.
    if (sinks.size === 0 && ORDER[level] < threshold()) return;
    writing = level;
    const clean = redactText(msg);
    if (fields && Object.keys(fields).length > 0) p()[level](redactValue(fields) as Record<string, unknown>, clean);
    else p()[level](clean);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => wrap(() => p().child(redactValue(fields) as Record<string, unknown>)),
  };
}

export function createLogger(base: Record<string, unknown> = {}): Logger {
  return wrap(() => (Object.keys(base).length > 0 ? root.child(redactValue(base) as Record<string, unknown>) : root));
}

/** The logger handed to atlassian-connect-express: its arguments go through the same redaction. */
export function aceLogger(log: Logger): { info: (...a: unknown[]) => void; warn: (...a: unknown[]) => void; error: (...a: unknown[]) => void } {
  const fmt = (args: unknown[]) => args.map((a) => (typeof a === "string" ? a : inspect(redactValue(a), { depth: 4, breakLength: Infinity }))).join(" ");
  return {
    info: (...a) => log.info(fmt(a), { from: "ace" }),
    warn: (...a) => log.warn(fmt(a), { from: "ace" }),
    error: (...a) => log.error(fmt(a), { from: "ace" }),
  };
}

export const rootLogger = createLogger();
