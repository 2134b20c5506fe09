import fs from "node:fs/promises";
import path from "node:path";
import type { GitRunner } from "./git-exec";
import type { CommitAuthor, CommitOptions, CommitResult, CommitSpec } from "./types";

/** Bare repositories on disk, and the real git commands the stand-in uses to change and read them. */

export const STANDIN_AUTHOR: CommitAuthor = { name: "Stand-in Developer", email: "developer@standin.example" };

const SAFE_REV = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/@{}^~-]+$/;

export type PathContent =
  | { type: "blob"; hash: string; content: Buffer }
  | { type: "tree"; hash: string; entries: { path: string; type: "blob" | "tree"; size: number }[] };

export class GitRepos {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Full hashes already known to exist, per repository (commits never go away here). */
  private readonly known = new Map<string, Set<string>>();

  constructor(
    private readonly git: GitRunner,
    /** GIT_PROJECT_ROOT: holds {workspace}/{slug}.git. */
    readonly root: string,
    private readonly scratch: string,
  ) {}

  gitDir(workspace: string, slug: string): string {
    return path.join(this.root, workspace, `${slug}.git`);
  }

  async init(gitDir: string, mainBranch: string): Promise<void> {
    await fs.mkdir(path.dirname(gitDir), { recursive: true });
    await this.git.out(["init", "--quiet", "--bare", `--initial-branch=${mainBranch}`, gitDir]);
    await this.git.out(["config", "http.receivepack", "true"], gitDir);
  }

  /** Serialises work on one repository. */
  private locked<T>(gitDir: string, work: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(gitDir) ?? Promise.resolve();
    const next = prev.then(work, work);
    this.locks.set(
      gitDir,
      next.catch(() => undefined),
    );
    return next;
  }

  /** The full hash a revision (full or short hash, branch, tag) names, or null. */
  async resolve(gitDir: string, rev: string): Promise<string | null> {
    if (!SAFE_REV.test(rev)) return null;
    let known = this.known.get(gitDir);
    if (!known) {
      known = new Set();
      this.known.set(gitDir, known);
    }
    if (known.has(rev)) return rev;
    const r = await this.git.run(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], { cwd: gitDir });
    if (r.code !== 0) return null;
    const hash = r.stdout.toString("utf8").trim();
    known.add(hash);
    return hash;
  }

  async branchHead(gitDir: string, branch: string): Promise<string | null> {
    return this.resolve(gitDir, `refs/heads/${branch}`);
  }

  /** Message, date, author and parents of a commit, read from the commit object. */
  async commitInfo(gitDir: string, hash: string): Promise<Required<CommitSpec>> {
    const raw = (await this.git.run(["cat-file", "commit", hash], { cwd: gitDir })).stdout.toString("utf8");
    const split = raw.indexOf("\n\n");
    const head = split < 0 ? raw : raw.slice(0, split);
    const message = split < 0 ? "" : raw.slice(split + 2);
    const parents: string[] = [];
    let author: CommitAuthor = STANDIN_AUTHOR;
    let date = new Date().toISOString();
    for (const line of head.split("\n")) {
      if (line.startsWith("parent ")) parents.push(line.slice(7));
      const m = /^author (.*) <(.*)> (\d+) ([+-]\d{4})$/.exec(line);
      if (m) {
        author = { name: m[1], email: m[2] };
        date = new Date(Number(m[3]) * 1000).toISOString().replace(/\.\d{3}Z$/, "+00:00");
      }
    }
    return { hash, message, date, author, parents };
  }

  /** A file (blob) or directory (tree) at a revision, or null when the revision or path does not exist. */
  async readPath(gitDir: string, rev: string, filePath: string): Promise<PathContent | null> {
    const commit = await this.resolve(gitDir, rev);
    if (!commit) return null;
    const clean = filePath.replace(/^\/+|\/+$/g, "");
    if (clean.split("/").some((seg) => seg === ".." || seg === ".")) return null;
    const spec = `${commit}:${clean}`;
    const type = await this.git.run(["cat-file", "-t", spec], { cwd: gitDir });
    if (type.code !== 0) return null;
    const kind = type.stdout.toString("utf8").trim();
    if (kind === "blob") {
      const blob = await this.git.run(["cat-file", "blob", spec], { cwd: gitDir });
      return { type: "blob", hash: commit, content: blob.stdout };
    }
    if (kind !== "tree") return null;
    const listing = await this.git.out(["ls-tree", "-l", spec], gitDir);
    const entries = listing
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [meta, name] = line.split("\t");
        const [, t, , size] = meta.split(/\s+/);
        return { path: clean ? `${clean}/${name}` : name, type: t === "tree" ? ("tree" as const) : ("blob" as const), size: Number(size) || 0 };
      });
    return { type: "tree", hash: commit, entries };
  }

  /**
   * Commits `files` on `branch` through a temporary clone with real git commands and a fixed author, and
   * pushes it (and the tag, if any) back to the bare repository.
   */
  commit(gitDir: string, mainBranch: string, opts: CommitOptions): Promise<CommitResult> {
    return this.locked(gitDir, async () => {
      const branch = opts.branch ?? mainBranch;
      const previous = await this.branchHead(gitDir, branch);
      const work = await fs.mkdtemp(path.join(this.scratch, "work-"));
      const env = {
        GIT_AUTHOR_NAME: STANDIN_AUTHOR.name,
        GIT_AUTHOR_EMAIL: STANDIN_AUTHOR.email,
        GIT_COMMITTER_NAME: STANDIN_AUTHOR.name,
        GIT_COMMITTER_EMAIL: STANDIN_AUTHOR.email,
      };
      try {
        await this.git.out(["clone", "--quiet", "--no-checkout", gitDir, work]);
        const start = previous ?? (await this.branchHead(gitDir, opts.from ?? mainBranch));
        if (start) await this.git.out(["checkout", "--quiet", "-B", branch, start], work);
        else await this.git.out(["checkout", "--quiet", "--orphan", branch], work);
        for (const [file, content] of Object.entries(opts.files ?? {})) {
          const target = path.resolve(work, file);
          if (!target.startsWith(work + path.sep) || file.split(/[\\/]/).includes(".git")) throw new Error(`refusing to write outside the work tree: ${file}`);
          if (content === null) await fs.rm(target, { force: true });
          else {
            await fs.mkdir(path.dirname(target), { recursive: true });
            await fs.writeFile(target, content);
          }
        }
        await this.git.out(["add", "-A"], work);
        const message = opts.message ?? `Update ${Object.keys(opts.files ?? {}).join(", ") || branch}`;
        await this.git.out(["commit", "--quiet", "--allow-empty", "--no-verify", "-m", message], work, env);
        const hash = await this.git.out(["rev-parse", "HEAD"], work);
        const refspecs = [`HEAD:refs/heads/${branch}`];
        const tagName = typeof opts.tag === "string" ? opts.tag : opts.tag?.name;
        if (opts.tag !== undefined) {
          if (typeof opts.tag === "string") await this.git.out(["tag", opts.tag], work);
          else await this.git.out(["tag", "-a", opts.tag.name, "-m", opts.tag.message], work, env);
          refspecs.push(`refs/tags/${tagName}:refs/tags/${tagName}`);
        }
        await this.git.out(["push", "--quiet", "origin", ...refspecs], work);
        const info = await this.commitInfo(gitDir, hash);
        return {
          hash,
          shortHash: hash.slice(0, 12),
          branch,
          previous,
          parents: info.parents,
          message: info.message,
          date: info.date,
          author: info.author,
          tag: tagName ?? null,
        };
      } finally {
        await fs.rm(work, { recursive: true, force: true });
      }
    });
  }

  /** Deletes a branch; returns the head it had (null when it did not exist). */
  deleteBranch(gitDir: string, branch: string): Promise<string | null> {
    return this.locked(gitDir, async () => {
      const head = await this.branchHead(gitDir, branch);
      if (head) await this.git.out(["update-ref", "-d", `refs/heads/${branch}`, head], gitDir);
      return head;
    });
  }
}
