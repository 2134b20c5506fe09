import { cp, lstat, mkdir, readdir } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { matchGlob } from "../pipelines";

/** Every regular file or link under `root` (relative paths with `/`), without `.git`. */
async function listFiles(root: string, dir = root, out: string[] = []): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (dir === root && e.name === ".git") continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) await listFiles(root, full, out);
    else out.push(relative(root, full).split("\\").join("/"));
  }
  return out;
}

/**
 * Copies the files of a finished step that match its `artifacts` globs into the build's artifact store, so later
 * steps of the same build get them. Returns the paths saved.
 */
export async function saveArtifacts(stepDir: string, globs: readonly string[], store: string): Promise<string[]> {
  if (globs.length === 0) return [];
  const files = (await listFiles(stepDir)).filter((f) => globs.some((g) => matchGlob(g, f)));
  for (const f of files) {
    await mkdir(dirname(join(store, f)), { recursive: true });
    await cp(join(stepDir, f), join(store, f), { force: true, verbatimSymlinks: true });
  }
  return files;
}

/** Puts every saved artifact of the build into a step's directory. Returns how many files. */
export async function restoreArtifacts(store: string, stepDir: string): Promise<number> {
  const exists = await lstat(store).then(() => true, () => false);
  if (!exists) return 0;
  const files = await listFiles(store);
  if (files.length) await cp(store, stepDir, { recursive: true, force: true, verbatimSymlinks: true });
  return files.length;
}
