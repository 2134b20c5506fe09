import { lstat } from "node:fs/promises";
import { isAbsolute, join, normalize, sep } from "node:path";
import { capped, sizeText, type ArtifactIo } from "./artifacts";
import { OverCapError } from "./runner-protocol";

/** Where a cache's directory is for one step: `~/…` in the step's HOME, anything else inside the clone. */
export function cacheTarget(path: string, stepDir: string, home: string): string | null {
  const inHome = path === "~" || path.startsWith("~/");
  const rel = normalize(inHome ? path.slice(1).replace(/^\/+/, "") : path);
  if (isAbsolute(path) || rel === ".." || rel.startsWith(`..${sep}`)) return null;
  return join(inHome ? home : stepDir, rel);
}

const exists = (p: string) => lstat(p).then(() => true, () => false);

/**
 * Restores the application's saved caches (from the server, wherever they were saved) into a step's directories
 * before it runs, unpacked as the step's user (so no entry, and no link in the clone, can lead outside its files).
 * Returns the names restored; says the rest in the log.
 */
export async function restoreCaches(io: ArtifactIo, caches: Record<string, string>, names: readonly string[], stepDir: string, home: string): Promise<Set<string>> {
  const restored = new Set<string>();
  for (const name of names) {
    const path = caches[name];
    if (path === undefined) continue;
    const target = cacheTarget(path, stepDir, home);
    if (!target) {
      await io.say(`cache "${name}": ${path} is outside the clone and HOME; it is not kept`);
      continue;
    }
    try {
      const body = await io.api.downloadCache(io.lease, name);
      if (!body) {
        await io.say(`cache "${name}": nothing saved yet`);
        continue;
      }
      await io.job.unpackIn(target, body);
      restored.add(name);
      await io.say(`cache "${name}" restored into ${path}`);
    } catch (err) {
      await io.say(`cache "${name}" could not be restored into ${path}: ${(err as Error).message}`);
    }
  }
  return restored;
}

/**
 * After a successful step: saves to the server each cache that was not restored (like Bitbucket, a saved cache is
 * not overwritten; it expires, or is deleted, to refresh it). Packed as the step's user, links as links. A cache
 * over the cap per cache is not saved, and the log says so; a failure to save one never fails the step.
 */
export async function saveCaches(io: ArtifactIo, caches: Record<string, string>, names: readonly string[], restored: ReadonlySet<string>, stepDir: string, home: string, maxBytes: number | undefined): Promise<void> {
  for (const name of names) {
    const path = caches[name];
    const target = path === undefined ? null : cacheTarget(path, stepDir, home);
    if (!target || restored.has(name) || !(await exists(target))) continue;
    const message = `cache "${name}" is not saved: it is larger than ${sizeText(maxBytes ?? 0)}, the most a cache may take (the service's PIPELINES_CACHE_MAX_BYTES)`;
    const body = capped(io.job.packOut(target), maxBytes ?? Number.MAX_SAFE_INTEGER, message);
    try {
      const { saved } = await io.api.uploadCache(io.lease, name, body.stream);
      await io.say(saved ? `cache "${name}" saved from ${path}` : `cache "${name}" was saved meanwhile by another build; that one is kept`);
    } catch (err) {
      if (body.over()) await io.say(message);
      else if (err instanceof OverCapError) await io.say(`cache "${name}" is not saved: ${err.message}`);
      else await io.say(`cache "${name}" could not be saved: ${(err as Error).message}`);
    }
  }
}
