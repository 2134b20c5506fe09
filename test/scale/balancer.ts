import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A load balancer in front of several web processes, as production has one: requests go round-robin to the
 * backends; a request a backend refused to connect (it is down) goes to the next one — like nginx's
 * `proxy_next_upstream error` for a connection never made; an answer cut in the middle (the backend died while
 * answering) cuts the client's connection too. Bodies are buffered (the runner API's are small); answers stream
 * (server-sent events included).
 */
export interface Balancer {
  url: string;
  /** Requests forwarded to each backend, by its URL. */
  forwarded: Map<string, number>;
  close(): Promise<void>;
}

export async function startBalancer(backends: string[]): Promise<Balancer> {
  let next = 0;
  const forwarded = new Map<string, number>(backends.map((b) => [b, 0]));
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const attempt = (tries: number) => {
        const backend = backends[next++ % backends.length];
        const target = new URL(req.url ?? "/", backend);
        const out = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
          forwarded.set(backend, (forwarded.get(backend) ?? 0) + 1);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on("error", () => res.destroy());
          answer.on("aborted", () => res.destroy());
        });
        out.on("error", (err: NodeJS.ErrnoException) => {
          if (res.headersSent) return void res.destroy();
          if (err.code === "ECONNREFUSED" && tries < backends.length) return attempt(tries + 1);
          res.writeHead(502, { "Content-Type": "application/json" }).end(JSON.stringify({ error: `backend ${backend}: ${err.message}` }));
        });
        res.on("close", () => out.destroy());
        out.end(body);
      };
      attempt(1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
