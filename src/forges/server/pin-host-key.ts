import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import type { ServerConnection } from "../../db/models/server-connection";

/** The host name ssh connects to, and the name it looks up in known_hosts (`[host]:port` off port 22). */
export function sshHostOf(conn: Pick<ServerConnection, "host" | "sshPort">): { hostname: string; knownHostsName: string } {
  const hostname = new URL(conn.host).hostname.replace(/^\[|\]$/g, "");
  return { hostname, knownHostsName: conn.sshPort === 22 ? hostname : `[${hostname}]:${conn.sshPort}` };
}

/** `SHA256:…` of the key on a known_hosts line (`name type base64`), as `ssh-keygen -l` prints it. */
export function knownHostsFingerprint(line: string): string {
  const blob = line.trim().split(/\s+/)[2];
  if (!blob) throw new Error("not a known_hosts line");
  return "SHA256:" + createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "");
}

function keyscan(hostname: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // Only Ed25519, ECDSA and RSA keys; `--` so a host name can never be read as an option.
    execFile("ssh-keyscan", ["-T", "10", "-p", String(port), "-t", "ed25519,ecdsa,rsa", "--", hostname], { timeout: 20_000 }, (err, stdout) => {
      if (err && !stdout) reject(new Error(`ssh-keyscan ${hostname}:${port} failed: ${err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * The connection's pinned known_hosts line, scanned and pinned the first time (trust on first use: what was seen
 * then is what every later clone must see; the fingerprint is shown so a person can compare it with the server's).
 * A pinned key is never replaced here; `resetHostKey` forgets it.
 */
export async function pinnedKnownHosts(conn: ServerConnection): Promise<string> {
  if (conn.knownHosts) return conn.knownHosts;
  const { hostname, knownHostsName } = sshHostOf(conn);
  const lines = (await keyscan(hostname, conn.sshPort))
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3);
  // Prefer Ed25519; pin one key type so the fingerprint shown is the one checked.
  const best = lines.find((f) => f[1] === "ssh-ed25519") ?? lines.find((f) => f[1].startsWith("ecdsa-")) ?? lines[0];
  if (!best) throw new Error(`no SSH host key could be read from ${hostname}:${conn.sshPort}`);
  const line = `${knownHostsName} ${best[1]} ${best[2]}`;
  await conn.update({ knownHosts: line, hostKeyFingerprint: knownHostsFingerprint(line) });
  return line;
}

/** Forgets the pinned host key: the next clone pins what it sees then. */
export async function resetHostKey(conn: ServerConnection): Promise<void> {
  await conn.update({ knownHosts: null, hostKeyFingerprint: null });
}
