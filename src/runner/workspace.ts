import { chmod, lstat, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { isAbsolute, join, parse, resolve } from "node:path";

/** Makes a fresh, uniquely named directory (mode 0700) under `root` for one build or step, and returns its path. */
export async function createWorkspace(root: string): Promise<string> {
  const base = resolve(root);
  await mkdir(base, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(base, "ws-"));
  await chmod(dir, 0o700);
  return dir;
}

/**
 * Removes a workspace and everything in it, like `rm -rf`. Builds often leave directories without write or
 * execute permission (Go's module cache, `chmod -R a-w`); those are made writable again and the removal is
 * retried. Symbolic links are removed, never followed. A missing directory is not an error.
 */
export async function removeWorkspace(dir: string): Promise<void> {
  if (!isAbsolute(dir) || resolve(dir) === parse(resolve(dir)).root) {
    throw new Error(`removeWorkspace: refusing to remove "${dir}": it must be an absolute path below the root`);
  }
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 2 });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EACCES" && code !== "EPERM" && code !== "ENOTEMPTY") throw error;
  }
  await makeOwnerWritable(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 2 });
}

async function makeOwnerWritable(path: string): Promise<void> {
  let info;
  try {
    info = await lstat(path);
  } catch {
    return;
  }
  if (!info.isDirectory()) return; // files need only their directory to be writable; links are never followed
  await chmod(path, (info.mode & 0o7777) | 0o700).catch(() => undefined);
  let entries: string[];
  try {
    entries = await readdir(path);
  } catch {
    return;
  }
  for (const name of entries) await makeOwnerWritable(join(path, name)); // one at a time: no EMFILE on big trees
}
