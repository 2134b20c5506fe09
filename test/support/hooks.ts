import net from "node:net";

/**
 * Root hooks for every test: the service runs in test mode, and nothing may reach the internet — a connection
 * to anything but a loopback address fails loudly instead of silently leaving the machine.
 */
process.env.NODE_ENV = "test";

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/;
const connect = net.Socket.prototype.connect as (...args: unknown[]) => net.Socket;
net.Socket.prototype.connect = function patchedConnect(this: net.Socket, ...args: unknown[]) {
  const first = args[0];
  const opts = (Array.isArray(first) ? first[0] : first) as { host?: string; path?: string; port?: unknown } | number | string;
  let host: string | undefined;
  if (typeof opts === "object" && opts !== null) host = opts.path ? undefined : (opts.host ?? "localhost");
  else if (typeof opts === "number" || (typeof opts === "string" && /^\d+$/.test(opts))) host = typeof args[1] === "string" ? args[1] : "localhost";
  if (host !== undefined && !LOOPBACK.test(host)) {
    throw new Error(`outbound network is blocked in tests (tried ${host})`);
  }
  return connect.apply(this, args);
} as typeof net.Socket.prototype.connect;
