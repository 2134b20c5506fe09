import { MalformedEventError, isFullHash } from "./events";

/** A JSON object of a webhook body. */
export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Own properties only, so a key such as `constructor` never reads through to the prototype. */
export function own(obj: Obj, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** A name for logs and reasons: JSON-quoted (so control characters show as escapes) and clipped. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return quote(v);
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

/**
 * Reads one webhook body, throwing a MalformedEventError that names the event and the path of what is wrong
 * (`repo:push has no push.changes`). Each forge's parser extends it with what its payloads look like.
 */
export class PayloadReader {
  constructor(protected readonly event: string) {}

  fail(path: string, expected: string, got: unknown): never {
    if (got === undefined) throw new MalformedEventError(`${this.event} has no ${path}`);
    throw new MalformedEventError(`${this.event}: ${path} is not ${expected} (got ${describe(got)})`);
  }

  root(data: unknown): Obj {
    if (!isObj(data)) throw new MalformedEventError(`${this.event} body is not a JSON object (got ${describe(data)})`);
    return data;
  }

  object(parent: Obj, key: string, path: string): Obj {
    const v = own(parent, key);
    return isObj(v) ? v : this.fail(path, "an object", v);
  }

  array(parent: Obj, key: string, path: string): unknown[] {
    const v = own(parent, key);
    return Array.isArray(v) ? v : this.fail(path, "an array", v);
  }

  string(parent: Obj, key: string, path: string): string {
    const v = own(parent, key);
    return typeof v === "string" ? v : this.fail(path, "a string", v);
  }

  optionalBoolean(parent: Obj, key: string, path: string): boolean | undefined {
    const v = own(parent, key);
    return v === undefined || typeof v === "boolean" ? v : this.fail(path, "a boolean", v);
  }

  /** A full commit hash: 40 lowercase hex characters. */
  hash(parent: Obj, key: string, path: string): string {
    const v = own(parent, key);
    return isFullHash(v) ? v : this.fail(path, "a 40-character lowercase hex commit hash", v);
  }
}
