import http from "node:http";
import zlib from "node:zlib";

/** Small HTTP helpers shared by the stand-in's servers and its outgoing requests. */

export async function readBody(req: http.IncomingMessage, limit = 10 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new Error("request body too large");
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** The body as a test would want to see it: parsed JSON, form fields, or text. */
export function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString("utf8");
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/json" || type.endsWith("+json")) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  if (type === "application/x-www-form-urlencoded") return Object.fromEntries(new URLSearchParams(text));
  return text;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Bitbucket's REST error body. */
export function errorBody(message: string, extra: Record<string, unknown> = {}): { type: "error"; error: Record<string, unknown> } {
  return { type: "error", error: { message, ...extra } };
}

export function sendError(res: http.ServerResponse, status: number, message: string, extra: Record<string, unknown> = {}): void {
  sendJson(res, status, errorBody(message, extra));
}

/** Joins a Connect module URL (relative to the app's base URL, which may have a path) to that base URL. */
export function joinUrl(base: string, relative: string): string {
  if (/^https?:\/\//i.test(relative)) return relative;
  return base.replace(/\/+$/, "") + (relative.startsWith("/") ? relative : "/" + relative);
}

export interface OutgoingResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request from the stand-in to the app. Rejects on a connection error or when no complete answer
 * arrived within `timeoutMs`. Requests still open are tracked in `inflight` so stop() can abort them.
 */
export function request(
  url: string,
  opts: { method: string; headers: Record<string, string>; body?: Buffer; timeoutMs: number; inflight: Set<http.ClientRequest> },
): Promise<OutgoingResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    if (target.protocol !== "http:") {
      reject(new Error(`the stand-in only calls http:// apps (got ${target.protocol})`));
      return;
    }
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body) headers["Content-Length"] = String(opts.body.length);
    const req = http.request(target, { method: opts.method, headers, agent: false });
    opts.inflight.add(req);
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      opts.inflight.delete(req);
    };
    req.on("error", (err) => {
      done();
      reject(err);
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (err) => {
        done();
        reject(err);
      });
      res.on("end", () => {
        done();
        let raw = Buffer.concat(chunks);
        const encoding = String(res.headers["content-encoding"] ?? "").toLowerCase();
        try {
          if (encoding === "gzip") raw = zlib.gunzipSync(raw);
          else if (encoding === "deflate") raw = zlib.inflateSync(raw);
        } catch {
          // keep the raw bytes
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString("utf8") });
      });
    });
    req.end(opts.body);
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
