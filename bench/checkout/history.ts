import { execFileSync, spawn } from "node:child_process";
import { createCipheriv } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Bumped whenever the generated history changes, so a cached one from an older version is never used. */
const VERSION = 1;
export const COMMITS = 2000;
/** Random (incompressible) bytes each commit writes: 2,000 × 25,000 ≈ 50 MB of history. */
const BYTES_PER_COMMIT = 25_000;
/** Files the commits write in turn: the tree at any commit holds 100 × 25 KB ≈ 2.5 MB. */
const FILES = 100;

const gitEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: os.tmpdir(), GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };

/**
 * A bare repository of 2,000 commits and ~50 MB of history, made with `git fast-import` from a fixed AES-CTR stream
 * (the same bytes, dates and so hashes every time), cached under the temporary directory by version: later runs
 * reuse it. Returns its path and the tip of `main`.
 */
export async function benchHistory(): Promise<{ gitDir: string; tip: string }> {
  const gitDir = path.join(os.tmpdir(), `pipelines-bench-checkout-v${VERSION}.git`);
  const tipOf = (dir: string) => execFileSync("git", [`--git-dir=${dir}`, "rev-parse", "refs/heads/main"], { env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    return { gitDir, tip: tipOf(gitDir) };
  } catch {
    // not made yet (or half made by a run that was stopped): make it
  }
  const fresh = `${gitDir}.new-${process.pid}`;
  fs.rmSync(fresh, { recursive: true, force: true });
  execFileSync("git", ["init", "-q", "--bare", "-b", "main", fresh], { env: gitEnv });
  const importer = spawn("git", [`--git-dir=${fresh}`, "fast-import", "--quiet"], { env: gitEnv, stdio: ["pipe", "ignore", "inherit"] });
  const done = new Promise<void>((resolve, reject) => {
    importer.once("error", reject);
    importer.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`git fast-import failed (exit code ${code})`))));
  });
  const random = createCipheriv("aes-128-ctr", Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(BYTES_PER_COMMIT);
  const write = (chunk: string | Buffer) => (importer.stdin.write(chunk) ? Promise.resolve() : new Promise<void>((r) => importer.stdin.once("drain", () => r())));
  for (let i = 0; i < COMMITS; i++) {
    const message = `change ${i}\n`;
    const blob = random.update(zeros);
    await write(`commit refs/heads/main\ncommitter Bench <bench@example.com> ${1_700_000_000 + i * 60} +0000\ndata ${Buffer.byteLength(message)}\n${message}`);
    await write(`M 100644 inline data/${String(i % FILES).padStart(3, "0")}.bin\ndata ${blob.length}\n`);
    await write(blob);
    await write("\n");
  }
  importer.stdin.end();
  await done;
  fs.rmSync(gitDir, { recursive: true, force: true });
  fs.renameSync(fresh, gitDir);
  return { gitDir, tip: tipOf(gitDir) };
}

/** Puts the history into the stand-in's (empty) bare repository: its packs copied in, `main` pointed at its tip. */
export function seedRepository(history: { gitDir: string; tip: string }, target: string): void {
  const from = path.join(history.gitDir, "objects", "pack");
  for (const name of fs.readdirSync(from)) fs.copyFileSync(path.join(from, name), path.join(target, "objects", "pack", name));
  execFileSync("git", [`--git-dir=${target}`, "update-ref", "refs/heads/main", history.tip], { env: gitEnv });
}
