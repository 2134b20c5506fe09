import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Local container images for tests, made from Debian's static busybox (no registry is reachable here): a root
 * filesystem with busybox and its applets, the given files, imported with `podman import` under a name that carries
 * a hash of its content (so a changed image gets a new name and an unchanged one is made once per machine).
 */
export function testImage(name: string, o: { files?: Record<string, string>; cmd?: string[] } = {}): string {
  const files = { "etc/os-release": 'NAME="Pipelines test image"\nID=pipelines-test\n', "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n", "etc/group": "root:x:0:\n", ...o.files };
  const hash = createHash("sha256").update(JSON.stringify({ files, cmd: o.cmd ?? null, v: 1 })).digest("hex").slice(0, 12);
  const image = `localhost/pipelines-test-${name}:${hash}`;
  const podman = (args: string[]) => spawnSync("podman", ["--log-level", "error", ...args], { encoding: "utf8" });
  if (podman(["image", "exists", image]).status === 0) return image;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "test-image-"));
  try {
    for (const dir of ["bin", "etc", "tmp", "root", "proc", "sys", "dev"]) fs.mkdirSync(path.join(root, dir), { recursive: true });
    fs.chmodSync(path.join(root, "tmp"), 0o1777);
    fs.copyFileSync("/bin/busybox", path.join(root, "bin", "busybox"));
    fs.chmodSync(path.join(root, "bin", "busybox"), 0o755);
    const applets = spawnSync("/bin/busybox", ["--list"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
    for (const applet of applets) if (applet !== "busybox") fs.symlinkSync("busybox", path.join(root, "bin", applet));
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text);
    }
    const tar = `${root}.tar`;
    const packed = spawnSync("tar", ["-C", root, "-cf", tar, "."], { encoding: "utf8" });
    if (packed.status !== 0) throw new Error(`tar failed: ${packed.stderr}`);
    const changes = o.cmd ? ["--change", `CMD ${JSON.stringify(o.cmd)}`] : [];
    const imported = podman(["import", "-q", ...changes, tar, image]);
    fs.rmSync(tar, { force: true });
    if (imported.status !== 0) throw new Error(`podman import failed: ${imported.stderr}`);
    return image;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Names of the containers that exist now (running or not) whose name starts with `prefix`. */
export function containersNamed(prefix: string): string[] {
  const r = spawnSync("podman", ["--log-level", "error", "ps", "-a", "--format", "{{.Names}}"], { encoding: "utf8" });
  return r.stdout.split("\n").filter((n) => n.startsWith(prefix));
}
