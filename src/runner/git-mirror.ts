import { createHash, randomBytes } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { SshCloneAccess } from "../forges/forge";
import { CheckoutError, fetchFailure, withSshFiles } from "./checkout";
import { lockFile } from "./file-lock";
import { git, type GitResult, type SshFiles } from "./git-command";

export interface MirrorCheckoutOptions {
  /** Where this runner keeps its mirrors (in its state directory: never visible to a step). */
  root: string;
  /** Whose repository it is: mirrors are never shared between applications (tenants). */
  applicationId: number;
  url: string;
  extraHeader: string | null;
  ssh?: SshCloneAccess | null;
  commit: string;
  /** The build's branch or tag: fetched into the mirror under its own name, so later fetches negotiate from it. */
  ref?: { type: "branch" | "tag"; name: string };
  /** `git fetch --depth` from the mirror into the job's repository; 0: the whole history. */
  depth: number;
  /** Also put this commit (one level deep) in the job's repository when the mirror has it (condition.changesets' base). */
  alsoCommit?: string | null;
  /** The job's repository (`<job>/repo`), made here. */
  dir: string;
  /**
   * `clone: lfs: true`: the commit's Git LFS objects are fetched into the mirror's LFS store (`<mirror>/lfs`, content
   * checked against its hash by git-lfs) and copied into `lfsDir` (an LFS store of the job's, on its disk, never
   * shown to a step), from which each step's checkout takes them (`createStepClone`'s `lfsStorage`). Absent: LFS files
   * stay pointer files.
   */
  lfsDir?: string;
  home: string;
  signal?: AbortSignal;
  say(line: string): Promise<void>;
}

/**
 * The mirror of one application's repository on this runner: `<root>/app-<id>/<sha256 of the URL>.git`. The URL
 * never carries credentials (they travel as http.extraHeader / an SSH key file), so the name holds no secret.
 */
export function mirrorPath(root: string, applicationId: number, url: string): string {
  if (!Number.isSafeInteger(applicationId) || applicationId <= 0) throw new Error(`bad application id ${applicationId}`);
  return join(root, `app-${applicationId}`, `${createHash("sha256").update(url).digest("hex").slice(0, 32)}.git`);
}

/**
 * Makes the job's repository (`o.dir`) hold `o.commit` from this runner's bare mirror of the repository, which is
 * first brought up to date with a `git fetch` of only what it lacks (nothing at all when it has the commit).
 *
 * - The mirror keeps the whole history, fetched incrementally; `depth` limits only what is copied into the job's
 *   repository (`git fetch --depth N file://<mirror>`). The job's repository is a copy on the job's own disk, never
 *   links into the mirror: the mirror stays invisible to steps, and nothing a step does can reach it.
 * - One exclusive lock per mirror (flock on `<mirror>.lock`) covers the update and the copy; it dies with the
 *   runner, and git commands on the mirror die with the runner too, so whatever a killed runner left (`*.lock`
 *   files, half-written packs) is stale and removed by the next holder.
 * - When anything fails — except a fetch the server or the network refused, reported as such — the mirror is
 *   checked (`git fsck`): a damaged mirror is rebuilt from scratch and the checkout tried once more; a sound one
 *   means the failure was not the mirror's, and it is reported as it is.
 */
export async function checkoutFromMirror(o: MirrorCheckoutOptions): Promise<{ lfsFiles: number }> {
  const path = mirrorPath(o.root, o.applicationId, o.url);
  await mkdir(join(path, ".."), { recursive: true, mode: 0o700 });
  const unlock = await lockFile(`${path}.lock`, "exclusive", o.signal);
  try {
    return await withSshFiles(o.ssh, async (ssh) => {
      const m = new Mirror(path, o, ssh);
      if (!(await m.usable())) await m.create();
      await m.removeStaleFiles();
      try {
        await m.update();
        await m.copyInto();
      } catch (err) {
        // The server's or the network's answer says nothing of the mirror: no fsck (it reads the whole mirror).
        if (o.signal?.aborted || err instanceof RemoteFailure) throw err;
        const damage = await m.damage();
        if (damage === null) throw err;
        await o.say(`the mirror of this repository on this runner is damaged (${damage}); rebuilding it from scratch`);
        await m.create();
        await m.update();
        await m.copyInto();
      }
      const lfsFiles = o.lfsDir ? await m.lfsInto(o.lfsDir) : 0;
      if (o.lfsDir) await o.say(`${lfsFiles} Git LFS file${lfsFiles === 1 ? "" : "s"} at ${o.commit.slice(0, 12)}`);
      return { lfsFiles };
    });
  } finally {
    await unlock();
  }
}

/** Packs a mirror may hold before they are put together into one. */
const PACK_LIMIT = 30;

/** A fetch failed for a reason of the server's or the network's (refused, unreachable, no such ref). */
class RemoteFailure extends CheckoutError {}

/** What git says when the fetch failed before anything reached the mirror: the server, the network, the credentials. */
const REMOTE_TROUBLE =
  /unable to access|could not resolve|failed to connect|connection (refused|timed out|reset)|returned error: \d{3}|authentication failed|could not read (username|password)|permission denied \(|host key|remote host identification|couldn't find remote ref|not our ref|repository .* not found|does not appear to be a git repository/i;

class Mirror {
  constructor(
    private readonly path: string,
    private readonly o: MirrorCheckoutOptions,
    private readonly ssh: SshFiles | null,
  ) {}

  /**
   * A git command on the mirror (never on what a step could have touched). One that writes (`writes`) dies with the
   * runner, with every helper it starts; one that only reads needs not.
   */
  private run(args: string[], o: { withCredentials?: boolean; writes?: boolean } = {}): Promise<GitResult> {
    return git([`--git-dir=${this.path}`, ...args], {
      cwd: this.path,
      home: this.o.home,
      signal: this.o.signal,
      extraHeader: o.withCredentials ? this.o.extraHeader : null,
      ssh: o.withCredentials ? this.ssh : null,
      dieWithRunner: o.writes === true,
    });
  }

  private async has(commit: string): Promise<boolean> {
    return (await this.run(["cat-file", "-e", `${commit}^{commit}`])).code === 0;
  }

  /** A bare repository this runner made, for this application (its config names it; read without running git). */
  async usable(): Promise<boolean> {
    if (!(await stat(join(this.path, "objects")).catch(() => null))?.isDirectory()) return false;
    const config = await readFile(join(this.path, "config"), "utf8").catch(() => "");
    const section = /^\[pipelines\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(config)?.[1] ?? "";
    return new RegExp(`^\\s*application\\s*=\\s*${this.o.applicationId}\\s*$`, "m").test(section);
  }

  /**
   * A new empty mirror in place of whatever was there: made beside it and renamed in. No hooks (an empty template),
   * no remote (the URL is given to each fetch; credentials never stored), no background gc that would outlive the lock.
   */
  async create(): Promise<void> {
    const fresh = `${this.path}.new-${randomBytes(4).toString("hex")}`;
    const made = await git(["init", "-q", "--bare", "--template=", "--", fresh], { home: this.o.home, signal: this.o.signal });
    if (made.code !== 0) throw new CheckoutError(`making the repository's mirror failed: ${made.stderr.trim()}`);
    const settings: Array<[string, string]> = [
      ["pipelines.application", String(this.o.applicationId)],
      ["gc.autoDetach", "false"],
      ["maintenance.autoDetach", "false"],
      ["core.logAllRefUpdates", "false"],
      // Fetched objects stay in packs (never exploded into loose objects), so copies out of the mirror reuse them as they are.
      ["fetch.unpackLimit", "1"],
      // The job's repository fetches the build's commit by its hash, which need not be a branch's tip.
      ["uploadpack.allowAnySHA1InWant", "true"],
    ];
    for (const [key, value] of settings) {
      const r = await git([`--git-dir=${fresh}`, "config", key, value], { home: this.o.home });
      if (r.code !== 0) throw new CheckoutError(`making the repository's mirror failed: ${r.stderr.trim()}`);
    }
    await rm(this.path, { recursive: true, force: true });
    await rename(fresh, this.path);
  }

  /**
   * What a git command killed half-way leaves: lock files and temporary packs (stale: we hold the mirror's lock), and
   * a new mirror a killed runner was making beside it.
   */
  async removeStaleFiles(): Promise<void> {
    const prefix = `${basename(this.path)}.new-`;
    for (const name of await readdir(dirname(this.path)).catch(() => [] as string[])) {
      if (name.startsWith(prefix)) await rm(join(dirname(this.path), name), { recursive: true, force: true });
    }
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const full = join(dir, entry.name);
        if (entry.name.endsWith(".lock") || entry.name.startsWith("tmp_") || entry.name.startsWith("incoming-")) await rm(full, { recursive: true, force: true });
        else if (entry.isDirectory() && (dir === this.path ? ["refs", "objects"].includes(entry.name) : true)) await walk(full);
      }
    };
    await walk(this.path);
  }

  /** Fetches what the mirror lacks of the build: its branch or tag (new objects only), else the commit by hash. */
  async update(): Promise<void> {
    const { commit, ref, url } = this.o;
    if (await this.has(commit)) {
      await this.o.say(`${commit.slice(0, 12)} is already in this runner's mirror of the repository: nothing to fetch`);
      return;
    }
    await this.o.say(`fetching ${commit} from ${url} into this runner's mirror of the repository (only what it lacks)`);
    let failed: GitResult | null = null;
    if (ref) {
      const name = ref.type === "tag" ? `refs/tags/${ref.name}` : `refs/heads/${ref.name}`;
      const r = await this.run(["fetch", "-q", "--no-tags", "--no-write-fetch-head", "--no-auto-maintenance", "--", url, `+${name}:${name}`], { withCredentials: true, writes: true });
      if (r.code !== 0) failed = r;
    }
    if (!(await this.has(commit))) {
      const r = await this.run(["fetch", "-q", "--no-tags", "--no-auto-maintenance", "--", url, commit], { withCredentials: true, writes: true });
      if (r.code === 0 && (await this.has(commit))) {
        // Kept reachable, so gc never drops it and later fetches negotiate from it.
        await this.run(["update-ref", `refs/pipelines/${commit}`, commit], { writes: true });
      } else if (r.code !== 0) failed = r;
    }
    if (await this.has(commit)) return this.repackWhenNeeded();
    if (failed) {
      const message = fetchFailure(failed.stderr, failed.code, this.o);
      throw REMOTE_TROUBLE.test(failed.stderr) ? new RemoteFailure(message) : new CheckoutError(message);
    }
    throw new CheckoutError(`commit ${commit} is not in what the server sent (it may have been force-pushed away)`);
  }

  /**
   * Each fetch adds a pack (fetches run without git's automatic maintenance, which would cost a process or two per
   * build); past PACK_LIMIT packs they are put together into one, under the lock like every write.
   */
  private async repackWhenNeeded(): Promise<void> {
    const packs = (await readdir(join(this.path, "objects", "pack")).catch(() => [] as string[])).filter((n) => n.endsWith(".pack")).length;
    if (packs <= PACK_LIMIT) return;
    const r = await this.run(["repack", "-a", "-d", "-q"], { writes: true });
    if (r.code !== 0) throw new CheckoutError(`repacking the repository's mirror failed: ${r.stderr.trim()}`);
  }

  /** The job's repository, made fresh: the commit (and `alsoCommit`) copied from the mirror, `depth` deep. */
  async copyInto(): Promise<void> {
    const { dir, commit, depth, home, signal } = this.o;
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const inJob = (args: string[]) => git(args, { cwd: dir, home, signal });
    const source = `file://${this.path}`;
    let r = await inJob(["init", "-q"]);
    if (r.code !== 0) throw new CheckoutError(`git init failed: ${r.stderr.trim()}`);
    await this.o.say(`checking out ${commit.slice(0, 12)} from the mirror${depth > 0 ? ` (depth ${depth})` : " (full history)"}`);
    // A fetch of the commit by its hash that succeeds has it (with `depth` of its history).
    r = await inJob(["fetch", "-q", "--no-tags", "--no-auto-maintenance", ...(depth > 0 ? ["--depth", String(depth)] : []), "--", source, commit]);
    if (r.code !== 0) throw new CheckoutError(`copying the commit from the mirror failed: ${r.stderr.trim()}`);
    const also = this.o.alsoCommit;
    if (also && also !== commit && (await this.has(also))) await inJob(["fetch", "-q", "--no-tags", "--no-auto-maintenance", "--depth", "1", "--", source, also]);
  }

  /**
   * Git LFS: fetches the commit's LFS objects the mirror lacks (`git lfs fetch`, the LFS endpoint fixed to the
   * repository's — a committed `.lfsconfig` cannot point it, or the credentials, elsewhere: the header goes only to
   * URLs under the repository's), then copies the commit's objects into the LFS store `dir`. Returns how many files.
   */
  async lfsInto(dir: string): Promise<number> {
    const { url, commit } = this.o;
    const lfs = (args: string[], withCredentials = false) =>
      git([`--git-dir=${this.path}`, "lfs", ...args], {
        cwd: this.path,
        home: this.o.home,
        signal: this.o.signal,
        extraHeader: withCredentials ? this.o.extraHeader : null,
        extraHeaderFor: url,
        config: { "lfs.url": `${url.replace(/\/+$/, "")}/info/lfs`, "lfs.locksverify": "false" },
        ssh: withCredentials ? this.ssh : null,
        dieWithRunner: withCredentials,
      });
    if (!/^https?:\/\//i.test(url)) {
      throw new CheckoutError("clone: lfs: true works for repositories cloned over HTTP(S); this one is cloned over SSH, so its Git LFS files cannot be fetched");
    }
    if ((await lfs(["version"])).code !== 0) {
      throw new CheckoutError("clone: lfs: true needs Git LFS on the runner, which does not have it: its operator installs it (apt-get install git-lfs)");
    }
    await this.o.say("fetching the commit's Git LFS files into the mirror");
    const fetched = await lfs(["fetch", "--", url, commit], true);
    if (fetched.code !== 0) throw new CheckoutError(`git lfs fetch failed: ${fetched.stderr.trim() || `exit code ${fetched.code}`}`);
    const listed = await lfs(["ls-files", "--json", commit]);
    if (listed.code !== 0) throw new CheckoutError(`git lfs ls-files failed: ${listed.stderr.trim()}`);
    const files = (JSON.parse(listed.stdout || "{}") as { files?: Array<{ name: string; oid: string }> }).files ?? [];
    await rm(dir, { recursive: true, force: true });
    for (const f of files) {
      if (!/^[0-9a-f]{64}$/.test(f.oid)) throw new CheckoutError(`git lfs listed an object it should not: ${JSON.stringify(f.oid)}`);
      const at = join("objects", f.oid.slice(0, 2), f.oid.slice(2, 4), f.oid);
      await mkdir(join(dir, at, ".."), { recursive: true });
      await copyFile(join(this.path, "lfs", at), join(dir, at)).catch((err: Error) => {
        throw new CheckoutError(`the Git LFS object of ${f.name} is not in the mirror after fetching it: ${err.message}`);
      });
    }
    return files.length;
  }

  /** Null when `git fsck` finds the mirror sound; else its first complaint. */
  async damage(): Promise<string | null> {
    if (!(await this.usable())) return "it is not a repository any more";
    const r = await this.run(["fsck", "--no-dangling", "--no-progress"]);
    if (r.code === 0) return null;
    const first = r.stderr.split("\n").find((l) => l.trim() !== "") ?? r.stdout.split("\n").find((l) => l.trim() !== "");
    return `git fsck: ${first?.trim() ?? `exit code ${r.code}`}`;
  }
}
