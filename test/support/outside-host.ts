import { spawn, spawnSync, type ChildProcess } from "node:child_process";

/** A host "on the internet" for steps: an HTTP server in a network namespace of its own, joined to this machine by a veth pair. */
export interface OutsideHost {
  /** `http://203.0.113.2:8080` (TEST-NET-3: not a private range, so a step's network may reach it). */
  url: string;
  /** The bodies POSTed to it so far, in order. */
  received(): string[];
  stop(): Promise<void>;
}

const SERVER = `
const http = require("http");
http.createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    if (req.method === "POST") process.stdout.write("RECEIVED " + JSON.stringify(body) + "\\n");
    res.end("hello from outside\\n");
  });
}).listen(8080, "0.0.0.0", () => process.stdout.write("LISTENING\\n"));
`;

/**
 * Starts the outside host (root only: `ip netns`, veth). Steps reach it through their slirp4netns network the way
 * they reach the internet; the test process itself cannot (its sockets may only reach loopback).
 */
export async function startOutsideHost(): Promise<OutsideHost> {
  const n = process.pid % 10000;
  const ns = `pltest-${process.pid}`;
  const host = `vpt${n}h`;
  const peer = `vpt${n}n`;
  const ip = (...args: string[]) => {
    const r = spawnSync("ip", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
  };
  spawnSync("ip", ["netns", "delete", ns]);
  spawnSync("ip", ["link", "delete", host]);
  ip("netns", "add", ns);
  ip("link", "add", host, "type", "veth", "peer", "name", peer);
  ip("link", "set", peer, "netns", ns);
  ip("addr", "add", "203.0.113.1/24", "dev", host);
  ip("link", "set", host, "up");
  ip("-n", ns, "addr", "add", "203.0.113.2/24", "dev", peer);
  ip("-n", ns, "link", "set", peer, "up");
  ip("-n", ns, "link", "set", "lo", "up");
  const server: ChildProcess = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  const bodies: string[] = [];
  let out = "";
  await new Promise<void>((resolve, reject) => {
    server.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      for (;;) {
        const i = out.indexOf("\n");
        if (i < 0) break;
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        if (line === "LISTENING") resolve();
        else if (line.startsWith("RECEIVED ")) bodies.push(JSON.parse(line.slice("RECEIVED ".length)) as string);
      }
    });
    server.once("exit", (code) => reject(new Error(`the outside host's server exited (${code})`)));
  });
  return {
    url: "http://203.0.113.2:8080",
    received: () => [...bodies],
    async stop() {
      server.kill("SIGKILL");
      spawnSync("ip", ["netns", "delete", ns]);
      spawnSync("ip", ["link", "delete", host]);
    },
  };
}
