import http from "node:http";
import request from "supertest";
import type { BitbucketCloud } from "../standin/cloud";
import { mintToken } from "../support/connect-tokens";
import type { TestServer } from "../support/test-server";

/** An installed workspace (an application or not). */
export interface Workspace {
  workspace: string;
  slug: string;
  clientKey: string;
  secret: string;
}

let counter = 0;

/** Installs a fresh workspace with one repository, which is not an application yet. */
export async function installWorkspace(bb: BitbucketCloud, server: TestServer, prefix = "pg", slug = "app"): Promise<Workspace> {
  const workspace = `${prefix}${++counter}${process.pid % 1000}`;
  await bb.createRepository(workspace, slug);
  const inst = await bb.install(server.url, { workspace });
  if (inst.status !== 204) throw new Error(`install failed: ${inst.status}`);
  return { workspace, slug, clientKey: inst.clientKey, secret: bb.currentSecret(inst.clientKey) ?? inst.sharedSecret };
}

/** `Authorization` value with a context token of `w` (what AP.context.getToken() gives a page). */
export function contextAuth(w: { clientKey: string; secret: string }): string {
  return `JWT ${mintToken({ clientKey: w.clientKey, secret: w.secret, context: true })}`;
}

/** Opens a page the way Bitbucket frames it: the URL's parameters plus `jwt`, a token signed for exactly that URL. */
export function openPage(server: TestServer, w: { clientKey: string; secret: string }, path: string, params: Record<string, string>) {
  const query = new URLSearchParams(params).toString();
  const jwt = mintToken({ clientKey: w.clientKey, secret: w.secret, method: "GET", path, query });
  return request(server.url).get(`${path}?${query}&jwt=${jwt}`);
}

/** A fragment or API call with `w`'s context token in the Authorization header. */
export function withContext(server: TestServer, w: { clientKey: string; secret: string }, path: string, params: Record<string, string> = {}) {
  const query = new URLSearchParams(params).toString();
  return request(server.url)
    .get(query ? `${path}?${query}` : path)
    .set("Authorization", contextAuth(w));
}

export interface SseEvent {
  event: string;
  id: string | null;
  data: string;
}

export interface SseResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: SseEvent[];
  /** The server ended the stream (rather than the reader stopping). */
  ended: boolean;
  body: string;
}

/**
 * Reads a server-sent event stream until the server ends it, `stopWhen` says enough (the reader then closes the
 * connection), or `timeoutMs` passes (an error).
 */
export function readSse(url: string, opts: { headers?: Record<string, string>; stopWhen?: (events: SseEvent[]) => boolean; timeoutMs?: number } = {}): Promise<SseResult> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { Accept: "text/event-stream", ...(opts.headers ?? {}) } }, (res) => {
      let buffer = "";
      let body = "";
      const events: SseEvent[] = [];
      let done = false;
      const finish = (ended: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (!ended) req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, events, ended, body });
      };
      const timer = setTimeout(() => {
        done = true;
        req.destroy();
        reject(new Error(`no end of the event stream within ${opts.timeoutMs ?? 10000} ms; got ${events.length} events`));
      }, opts.timeoutMs ?? 10000);
      res.setEncoding("utf8");
      res.on("data", (text: string) => {
        body += text;
        buffer += text;
        let sep: number;
        while ((sep = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, sep);
          buffer = buffer.slice(sep + 2);
          const ev: SseEvent = { event: "message", id: null, data: "" };
          const data: string[] = [];
          let any = false;
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") ev.event = value;
            else if (field === "id") ev.id = value;
            else if (field === "data") data.push(value);
            else continue;
            any = true;
          }
          if (!any || data.length === 0) continue;
          ev.data = data.join("\n");
          events.push(ev);
        }
        if (opts.stopWhen?.(events)) finish(false);
      });
      res.on("end", () => finish(true));
      res.on("error", () => finish(true));
    });
    req.on("error", (err) => reject(err));
  });
}

/** The text of the log lines in the `html` of stream messages (tags removed, entities decoded). */
export function linesOf(events: SseEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.event !== "message") continue;
    const html = (JSON.parse(e.data) as { html: string }).html;
    for (const m of html.matchAll(/<div class="log-line" data-testid="log-line"(?: data-t="\d+")?>(.*?)<\/div>/g)) out.push(decodeHtml(m[1].replace(/<[^>]*>/g, "")));
  }
  return out;
}

export function decodeHtml(s: string): string {
  return s.replace(/&#x3D;/g, "=").replace(/&#x60;/g, "`").replace(/&#x27;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
}
