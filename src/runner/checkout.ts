import { mkdir } from "node:fs/promises";
import { git } from "./git-command";

export class CheckoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckoutError";
  }
}

export interface FetchOptions {
  /** Where the job's repository is made (created if missing). */
  dir: string;
  url: string;
  extraHeader: string | null;
  commit: string;
  /** 0: the whole history. */
  depth: number;
  /** A branch or tag to fetch when the server refuses to send a commit by its hash. */
  ref?: { type: "branch" | "tag"; name: string };
  home: string;
  signal?: AbortSignal;
  /** Lines for the step's log (already free of credentials; the caller masks them anyway). */
  say(line: string): Promise<void>;
}

const depthArgs = (depth: number) => (depth > 0 ? ["--depth", String(depth)] : []);

/**
 * Fetches exactly `commit` into a fresh repository: `git init`, `git fetch --depth N -- <url> <commit>`, falling
 * back to fetching the branch or tag when the server does not serve commits by hash, then checks that the commit
 * arrived. Each step later gets its own work tree of it (see `addWorkTree`).
 */
export async function fetchCommit(o: FetchOptions): Promise<void> {
  await mkdir(o.dir, { recursive: true });
  const run = (args: string[], withCredentials = false) => git(args, { cwd: o.dir, home: o.home, signal: o.signal, extraHeader: withCredentials ? o.extraHeader : null });
  let r = await run(["init", "-q"]);
  if (r.code !== 0) throw new CheckoutError(`git init failed: ${r.stderr.trim()}`);
  await o.say(`fetching ${o.commit} from ${o.url}${o.depth > 0 ? ` (depth ${o.depth})` : ""}`);
  r = await run(["fetch", "-q", "--no-tags", ...depthArgs(o.depth), "--", o.url, o.commit], true);
  if (r.code !== 0 && o.ref) {
    const refspec = o.ref.type === "tag" ? `refs/tags/${o.ref.name}` : `refs/heads/${o.ref.name}`;
    const byRef = await run(["fetch", "-q", "--no-tags", ...depthArgs(o.depth), "--", o.url, refspec], true);
    if (byRef.code === 0) r = byRef;
  }
  if (r.code !== 0) throw new CheckoutError(`git fetch failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
  const has = await run(["cat-file", "-e", `${o.commit}^{commit}`]);
  if (has.code !== 0) throw new CheckoutError(`commit ${o.commit} is not in what the server sent (it may have been force-pushed away)`);
}

/** A work tree of the job's repository at `commit`, for one step. */
export async function addWorkTree(repoDir: string, dir: string, commit: string, home: string): Promise<void> {
  const r = await git(["worktree", "add", "-q", "--detach", dir, commit], { cwd: repoDir, home });
  if (r.code !== 0) throw new CheckoutError(`git worktree add failed: ${r.stderr.trim()}`);
}

/**
 * The files changed between `base` and `commit`, for `condition.changesets`; null when they cannot be known (no
 * base, or the base commit cannot be fetched), which makes every conditional step run.
 */
export async function changedFiles(o: Omit<FetchOptions, "commit" | "say" | "depth" | "ref"> & { base: string | null; commit: string }): Promise<string[] | null> {
  if (!o.base) return null;
  const run = (args: string[], withCredentials = false) => git(args, { cwd: o.dir, home: o.home, signal: o.signal, extraHeader: withCredentials ? o.extraHeader : null });
  if ((await run(["cat-file", "-e", `${o.base}^{commit}`])).code !== 0) {
    if ((await run(["fetch", "-q", "--no-tags", "--depth", "1", "--", o.url, o.base], true)).code !== 0) return null;
  }
  const diff = await run(["diff", "--name-only", "-z", o.base, o.commit]);
  if (diff.code !== 0) return null;
  return diff.stdout.split("\0").filter(Boolean);
}
