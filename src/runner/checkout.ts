import { spawn } from "node:child_process";
import { appendFile, copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { SshCloneAccess } from "../forges/forge";
import { git, type SshFiles } from "./git-command";

export class CheckoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckoutError";
  }
}

/** Where a fetch goes and where from, with the clone credentials (never in the URL). */
export interface FetchSource {
  /** The job's repository. */
  dir: string;
  url: string;
  extraHeader: string | null;
  /** For an `ssh://` URL: the key and the pinned host key. */
  ssh?: SshCloneAccess | null;
  home: string;
  signal?: AbortSignal;
}

/**
 * Runs `work` with the SSH key and the pinned known_hosts in 0600 files of a private (0700) temporary directory,
 * removed afterwards whatever happens; without SSH access, with null.
 */
export async function withSshFiles<T>(ssh: SshCloneAccess | null | undefined, work: (files: SshFiles | null) => Promise<T>): Promise<T> {
  if (!ssh) return work(null);
  const dir = await mkdtemp(join(tmpdir(), "pipelines-ssh-"));
  try {
    const files: SshFiles = { keyFile: join(dir, "id"), knownHostsFile: join(dir, "known_hosts"), port: ssh.port };
    await writeFile(files.keyFile, ssh.privateKey.endsWith("\n") ? ssh.privateKey : `${ssh.privateKey}\n`, { mode: 0o600 });
    await writeFile(files.knownHostsFile, `${ssh.knownHosts.trim()}\n`, { mode: 0o600 });
    return await work(files);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** ssh's answer when the server's host key is not the pinned one. */
const HOST_KEY_MISMATCH = /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|host key for .* has changed/i;

/** The reason a fetch failed, in words that say what to do when the SSH host key changed. */
export function fetchFailure(stderr: string, code: number, o: Pick<FetchSource, "url" | "ssh">): string {
  if (o.ssh && HOST_KEY_MISMATCH.test(stderr)) {
    const host = /^ssh:\/\/[^@/]*@?([^/]+)/.exec(o.url)?.[1] ?? o.url;
    return (
      `the SSH host key of ${host} has changed: it is not the key pinned for this server${o.ssh.hostKeyFingerprint ? ` (${o.ssh.hostKeyFingerprint})` : ""}, ` +
      "so Pipelines refused to connect. If the server's key really was replaced, reset the pinned host key (`pipelines server reset-host-key`) and run the build again."
    );
  }
  return `git fetch failed: ${stderr.trim() || `exit code ${code}`}`;
}

/**
 * A clone of the job's repository at `commit` for one step, in `dir` (which must not exist yet or be empty): a
 * repository of its own — the step may commit, tag, rewrite its config — whose objects are borrowed from the job's
 * repository through a relative `objects/info/alternates`, valid both here and where the step sees the two
 * (`<clone>/../repo/.git/objects`; the job's repository is never writable by a step, so nothing a step does reaches
 * the git commands the runner runs there later). `origin` is the repository's URL, without credentials. When `owner`
 * is given the clone is handed to it (`chown -R`, links themselves, never what they point to).
 */
export async function createStepClone(o: {
  repoDir: string;
  dir: string;
  commit: string;
  home: string;
  url: string | null;
  owner: { uid: number; gid: number } | null;
  /**
   * `clone: lfs`: an LFS store holding every LFS object of the commit (see git-mirror.ts). The clone gets git-lfs's
   * filters and its checkout turns pointer files into the files from that store — offline: the store is given to
   * this one command through the environment, never written in the clone's config, and nothing is downloaded (a
   * missing object fails the checkout instead).
   */
  lfsStorage?: string;
}): Promise<void> {
  await mkdir(o.dir, { recursive: true });
  const run = async (args: string[], what: string, config?: Record<string, string>) => {
    const r = await git(args, { cwd: o.dir, home: o.home, config });
    if (r.code !== 0) throw new CheckoutError(`${what} failed: ${r.stderr.trim()}`);
  };
  await run(["init", "-q", "."], "git init");
  const objects = join(o.dir, ".git", "objects");
  await writeFile(join(objects, "info", "alternates"), `${relative(objects, join(o.repoDir, ".git", "objects"))}\n`);
  await copyFile(join(o.repoDir, ".git", "shallow"), join(o.dir, ".git", "shallow")).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err; // a full clone has no shallow file
  });
  if (o.url && /^[\x21-\x7e]+$/.test(o.url) && !/["\\;#]/.test(o.url)) {
    // What `git remote add origin <url>` writes (one git process less per step): a URL of plain characters needs no quoting.
    await appendFile(join(o.dir, ".git", "config"), `[remote "origin"]\n\turl = ${o.url}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n`);
  } else if (o.url) await run(["remote", "add", "origin", o.url], "git remote add");
  if (o.lfsStorage) {
    // What `git lfs install --local` writes: the checkout smudges, and `git status` in the step sees the files as committed.
    await run(["config", "filter.lfs.clean", "git-lfs clean -- %f"], "git config");
    await run(["config", "filter.lfs.smudge", "git-lfs smudge -- %f"], "git config");
    await run(["config", "filter.lfs.process", "git-lfs filter-process"], "git config");
    await run(["config", "filter.lfs.required", "true"], "git config");
  }
  // Offline LFS: the job's store, and an endpoint that answers nothing (a committed .lfsconfig cannot send it elsewhere).
  const lfs = o.lfsStorage ? { "lfs.storage": o.lfsStorage, "lfs.url": "http://127.0.0.1:9/no-downloads-during-checkout", "lfs.concurrenttransfers": "1" } : undefined;
  await run(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", o.commit], "git checkout", lfs);
  if (o.owner) {
    const r = await runChown(o.owner, o.dir);
    if (r !== null) throw new CheckoutError(`handing the clone to the step's user failed: ${r}`);
  }
}

/** `chown -R -h uid:gid dir`; null when it worked, else its error output. */
function runChown(owner: { uid: number; gid: number }, dir: string): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn("chown", ["-R", "-h", `${owner.uid}:${owner.gid}`, "--", dir], { stdio: ["ignore", "ignore", "pipe"], env: { PATH: "/usr/bin:/bin" } });
    let err = "";
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.once("error", (e) => resolve(e.message));
    child.once("close", (code) => resolve(code === 0 ? null : err.trim() || `exit code ${code}`));
  });
}

/**
 * The files changed between `base` and `commit`, for `condition.changesets`; null when they cannot be known (no
 * base, or the base commit cannot be fetched), which makes every conditional step run.
 */
export async function changedFiles(o: FetchSource & { base: string | null; commit: string }): Promise<string[] | null> {
  if (!o.base) return null;
  const base = o.base;
  const run = (args: string[]) => git(args, { cwd: o.dir, home: o.home, signal: o.signal });
  if ((await run(["cat-file", "-e", `${base}^{commit}`])).code !== 0) {
    const fetched = await withSshFiles(o.ssh, (ssh) =>
      git(["fetch", "-q", "--no-tags", "--depth", "1", "--", o.url, base], { cwd: o.dir, home: o.home, signal: o.signal, extraHeader: o.extraHeader, ssh }),
    );
    if (fetched.code !== 0) return null;
  }
  const diff = await run(["diff", "--name-only", "-z", o.base, o.commit]);
  if (diff.code !== 0) return null;
  return diff.stdout.split("\0").filter(Boolean);
}
