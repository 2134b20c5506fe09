import { existsSync, lstatSync, readFileSync, readlinkSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { SLIRP } from "./network-policy";

/** Where a step finds things, as Bitbucket Pipelines lays them out. */
export const STEP_PATHS = {
  cloneDir: "/opt/atlassian/pipelines/agent/build",
  /** The job repository's objects, which the clone borrows through a relative `objects/info/alternates`. */
  repoObjects: "/opt/atlassian/pipelines/agent/repo/.git/objects",
  scriptDir: "/opt/atlassian/pipelines/agent/tmp",
  home: "/root",
  tmp: "/tmp",
};

/** The top-level directories of the runner's programs a step sees, read-only (links stay links). */
const SYSTEM = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/** What sandboxRootArgs gives: the programs (all a copy jail needs), and /etc with the runner's replaced files. */
export interface SandboxRoot {
  system: string[];
  etc: string[];
}

/**
 * The bubblewrap arguments that give a step the runner's system read-only — `/usr`, `/etc` and the `/bin`, `/lib`…
 * directories or links — with `/etc/passwd`, `/etc/group`, `/etc/hosts` and `/etc/resolv.conf` replaced by files of
 * the runner's (a `pipelines` user for every step uid, localhost only, slirp's DNS). Nothing else of the machine is
 * there: not /home, /root, /var, /srv, /opt, /run, the service's folder or the runner's data.
 */
export async function sandboxRootArgs(stateDir: string, uids: readonly number[], withNetwork: boolean): Promise<SandboxRoot> {
  const dir = join(stateDir, "sandbox-etc");
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const files: Record<string, string> = {
    passwd: readText("/etc/passwd") + uids.map((u) => `pipelines:x:${u}:${u}:Pipelines step:${"/root"}:/bin/bash\n`).join(""),
    group: readText("/etc/group") + uids.map((u) => `pipelines:x:${u}:\n`).join(""),
    hosts: "127.0.0.1\tlocalhost pipelines\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    "resolv.conf": withNetwork ? `nameserver ${SLIRP.dns}\n` : "",
  };
  const system: string[] = [];
  for (const name of SYSTEM) {
    const path = `/${name}`;
    if (!existsSync(path)) continue;
    const st = lstatSync(path);
    if (st.isSymbolicLink()) system.push("--symlink", readlinkSync(path), path);
    else if (st.isDirectory()) system.push("--ro-bind", path, path);
  }
  const etc = ["--ro-bind", "/etc", "/etc"];
  for (const [name, text] of Object.entries(files)) {
    const file = join(dir, name);
    await writeFile(file, text, { mode: 0o644 });
    etc.push("--ro-bind", file, insideEtc(`/etc/${name}`));
  }
  return { system, etc };
}

/** A file of /etc that is a link (resolv.conf → /run/…) is replaced where the link points. */
function insideEtc(path: string): string {
  try {
    if (lstatSync(path).isSymbolicLink()) return resolve(dirname(path), readlinkSync(path));
  } catch {
    // missing: bubblewrap makes it
  }
  return path;
}

function readText(file: string): string {
  try {
    const text = readFileSync(file, "utf8");
    return text.endsWith("\n") || text === "" ? text : `${text}\n`;
  } catch {
    return "";
  }
}
