import { lstat, mkdir, rename, rm } from "node:fs/promises";
import { isAbsolute, join, normalize, sep } from "node:path";
import type { JobSandbox } from "./executors/executor";

/** Where a cache's directory is for one step: `~/…` in the step's HOME, anything else inside the clone. */
export function cacheTarget(path: string, stepDir: string, home: string): string | null {
  const inHome = path === "~" || path.startsWith("~/");
  const rel = normalize(inHome ? path.slice(1).replace(/^\/+/, "") : path);
  if (isAbsolute(path) || rel === ".." || rel.startsWith(`..${sep}`)) return null;
  return join(inHome ? home : stepDir, rel);
}

const exists = (p: string) => lstat(p).then(() => true, () => false);

/**
 * Restores the application's saved caches into a step's directories before it runs, as the step's user (so a link
 * in the clone cannot lead the copy out of it). Returns the lines to log. `store` is the application's cache
 * directory on this runner.
 */
export async function restoreCaches(job: JobSandbox, store: string, caches: Record<string, string>, names: readonly string[], stepDir: string, home: string): Promise<string[]> {
  const said: string[] = [];
  for (const name of names) {
    const path = caches[name];
    if (path === undefined) continue;
    const target = cacheTarget(path, stepDir, home);
    if (!target) {
      said.push(`cache "${name}": ${path} is outside the clone and HOME; it is not kept`);
      continue;
    }
    if (!(await exists(join(store, name)))) {
      said.push(`cache "${name}": nothing saved yet`);
      continue;
    }
    try {
      await job.copyIn(join(store, name), target);
      said.push(`cache "${name}" restored into ${path}`);
    } catch (err) {
      said.push(`cache "${name}" could not be restored into ${path}: ${(err as Error).message}`);
    }
  }
  return said;
}

/**
 * After a successful step: saves each cache that has no saved copy yet (like Bitbucket, a saved cache is not
 * overwritten; delete it to refresh it). Copied through the executor (links copied as links, never followed) to a
 * temporary name and renamed, so a crash never leaves half a cache. Returns the lines to log.
 */
export async function saveCaches(job: JobSandbox, store: string, caches: Record<string, string>, names: readonly string[], stepDir: string, home: string): Promise<string[]> {
  const said: string[] = [];
  for (const name of names) {
    const path = caches[name];
    const target = path === undefined ? null : cacheTarget(path, stepDir, home);
    if (!target || (await exists(join(store, name))) || !(await exists(target))) continue;
    const tmp = join(store, `.${name}.${process.pid}.${Date.now()}`);
    await mkdir(store, { recursive: true, mode: 0o700 });
    try {
      await job.copyOut(target, tmp);
      await rename(tmp, join(store, name));
      said.push(`cache "${name}" saved from ${path}`);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      said.push(`cache "${name}" could not be saved: ${(err as Error).message}`);
    }
  }
  return said;
}
