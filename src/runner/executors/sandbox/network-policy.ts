import os from "node:os";

/**
 * Where a step's network may go. With `internet`, a step reaches the outside world through slirp4netns, but never:
 * - the runner's own machine: its loopback (slirp's --disable-host-loopback) and every address of its interfaces,
 *   where the service, its database and anything else listening on all interfaces would answer;
 * - private, shared, link-local and other special ranges (RFC 1918, 100.64/10, 169.254/16 — the cloud metadata
 *   service that hands out the machine's credentials —, 0/8, multicast, reserved): where a company's databases and
 *   internal services live;
 * except the ranges an operator allows (PIPELINES_STEP_NETWORK_ALLOW). IPv6 is not routed at all.
 */
export const BLOCKED_RANGES = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "224.0.0.0/4",
  "240.0.0.0/4",
];

/** slirp4netns's fixed addresses inside the step's namespace. */
export const SLIRP = { cidr: "10.0.2.0/24", gateway: "10.0.2.2", dns: "10.0.2.3", guest: "10.0.2.100" };

/** `a.b.c.d/n` with the host bits cleared, or null when it is not an IPv4 CIDR. */
export function parseCidr(text: string): string | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text.trim());
  if (!m) return null;
  const octets = m.slice(1, 5).map(Number);
  const bits = m[5] === undefined ? 32 : Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return null;
  const value = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const network = Math.floor(value / size) * size;
  return `${[24, 16, 8, 0].map((s) => Math.floor(network / 2 ** s) % 256).join(".")}/${bits}`;
}

/** The IPv4 addresses of this machine's interfaces, as /32 ranges. */
export function hostAddresses(): string[] {
  const out = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4") out.add(`${a.address}/32`);
  }
  return [...out];
}

/**
 * The `ip -batch` lines that shape a step's namespace: loopback up, an `unreachable` route for every blocked range
 * and host address (more specific than slirp's default route, less specific than its own 10.0.2.0/24), and a route
 * through slirp for each allowed range.
 */
export function routeCommands(allow: readonly string[], host: readonly string[] = hostAddresses()): string[] {
  const lines = ["link set lo up"];
  for (const range of [...BLOCKED_RANGES, ...host]) lines.push(`route add unreachable ${range}`);
  for (const range of allow) lines.push(`route add ${range} via ${SLIRP.gateway}`);
  return lines;
}
