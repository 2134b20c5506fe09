import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/**
 * A real OpenSSH server for the Bitbucket Server stand-in: `sshd -D -e` in the foreground on 127.0.0.1 (never
 * port 22), with its own config, host key and authorized_keys in a temporary directory. Each authorized key is
 * forced through `git-serve.sh`, which lets only `git-upload-pack '/<project>/<repo>.git'` through (mapped into the
 * stand-in's repository root, the way Server maps its SSH paths) and records every command it ran.
 */
export class StandinSshd {
  readonly dir: string;
  port = 0;
  readonly user = os.userInfo().username;
  private child: ChildProcess | null = null;
  readonly stderr: string[] = [];

  constructor(private readonly repoRoot: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "standin-sshd-"));
  }

  static binary(): string {
    for (const p of ["/usr/sbin/sshd", "/usr/bin/sshd"]) if (fs.existsSync(p)) return p;
    throw new Error("sshd is not installed (run 'bash scripts/ensure-system-packages.sh tests' as root)");
  }

  private get hostKey(): string {
    return path.join(this.dir, "host_ed25519");
  }

  /** The host key's public line (`ssh-ed25519 AAAA…`). */
  hostPublicKey(): string {
    return fs.readFileSync(`${this.hostKey}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  }

  /** The commands the forced command let through (`git-upload-pack '/proj/repo.git'`). */
  commands(): string[] {
    const f = path.join(this.dir, "commands.log");
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean) : [];
  }

  /** A new host key (as if the server's key were replaced); restarts sshd on the same port. */
  async rotateHostKey(): Promise<void> {
    await this.stop(false);
    fs.rmSync(this.hostKey, { force: true });
    fs.rmSync(`${this.hostKey}.pub`, { force: true });
    await this.start();
  }

  authorize(publicKey: string): void {
    const script = path.join(this.dir, "git-serve.sh");
    fs.appendFileSync(path.join(this.dir, "authorized_keys"), `command="${script}",no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty ${publicKey.trim()}\n`, { mode: 0o600 });
  }

  async start(): Promise<void> {
    if (!fs.existsSync(this.hostKey)) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", this.hostKey]);
    fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const script = path.join(this.dir, "git-serve.sh");
    fs.writeFileSync(
      script,
      `#!/bin/bash
set -u
log=${JSON.stringify(path.join(this.dir, "commands.log"))}
root=${JSON.stringify(this.repoRoot)}
cmd="\${SSH_ORIGINAL_COMMAND:-}"
if [[ "$cmd" =~ ^git-upload-pack\\ \\'/([a-z0-9_.~-]+/[A-Za-z0-9_.~-]+\\.git)\\'$ ]]; then
  echo "$cmd" >> "$log"
  exec git-upload-pack --strict -- "$root/\${BASH_REMATCH[1]}"
fi
echo "refused: $cmd" >> "$log"
echo "the stand-in serves only git-upload-pack of /<project>/<repo>.git" >&2
exit 1
`,
      { mode: 0o755 },
    );
    if (!fs.existsSync(path.join(this.dir, "authorized_keys"))) fs.writeFileSync(path.join(this.dir, "authorized_keys"), "", { mode: 0o600 });
    if (!this.port) this.port = await freePort();
    const config = path.join(this.dir, "sshd_config");
    fs.writeFileSync(
      config,
      [
        `Port ${this.port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${this.hostKey}`,
        `PidFile ${path.join(this.dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${path.join(this.dir, "authorized_keys")}`,
        "StrictModes no",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        `AllowUsers ${this.user}`,
        "PermitUserEnvironment no",
        "AllowTcpForwarding no",
        "X11Forwarding no",
        "PrintMotd no",
        "LogLevel VERBOSE",
        "",
      ].join("\n"),
    );
    const child = spawn(StandinSshd.binary(), ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not start: ${this.stderr.join("")}`)), 10_000);
      child.stderr?.on("data", (b: Buffer) => {
        this.stderr.push(b.toString("utf8"));
        if (/Server listening on 127\.0\.0\.1/.test(this.stderr.join(""))) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited (${code}): ${this.stderr.join("")}`));
      });
    });
  }

  async stop(removeDir = true): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    this.stderr.length = 0;
    if (removeDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port === 22 ? 0 : port));
    });
  });
}
