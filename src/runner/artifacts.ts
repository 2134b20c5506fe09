import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { matchGlob } from "../pipelines";
import type { JobSandbox } from "./executors/executor";

/**
 * Every regular file or link under `root` (relative paths with `/`), without `.git`. Read with readdir only: a link
 * is listed as itself and never followed, so every directory of a listed path is a real directory of the step's.
 */
export async function listFiles(root: string, dir = root, out: string[] = []): Promise<string[]> {
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
 * steps of the same build get them (through the executor: a link in the step's files is copied as a link, never
 * followed). Returns the paths saved.
 */
export async function saveArtifacts(job: JobSandbox, stepDir: string, globs: readonly string[], store: string): Promise<string[]> {
  if (globs.length === 0) return [];
  const files = (await listFiles(stepDir)).filter((f) => globs.some((g) => matchGlob(g, f)));
  if (files.length) await job.copyOut(stepDir, store, files);
  return files;
}

/** Puts every saved artifact of the build into a step's directory, as the step's user. Returns how many files. */
export async function restoreArtifacts(job: JobSandbox, store: string, stepDir: string): Promise<number> {
  const files = await listFiles(store);
  if (files.length) await job.copyIn(store, stepDir);
  return files.length;
}
