import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { Transform, type Readable } from "node:stream";
import { matchGlob, type ArtifactUpload, type StepPlan } from "../pipelines";
import type { JobSandbox } from "./executors/executor";
import { OverCapError, type ArtifactRef, type LeaseRef, type RunnerProtocol } from "./runner-protocol";

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

/** `1.5 MiB`… */
export function sizeText(n: number): string {
  if (n >= 1024 ** 3) return `${Math.round((n / 1024 ** 3) * 10) / 10} GiB`;
  if (n >= 1024 ** 2) return `${Math.round((n / 1024 ** 2) * 10) / 10} MiB`;
  if (n >= 1024) return `${Math.round((n / 1024) * 10) / 10} KiB`;
  return `${n} bytes`;
}

/** What a step uploads; a plan stored before uploads were named has its globs as one shared "artifacts". */
export function uploadsOf(step: StepPlan): ArtifactUpload[] {
  if (step.artifactUploads) return step.artifactUploads;
  return step.artifacts.length ? [{ name: "artifacts", paths: step.artifacts, type: "shared", ignorePaths: [], captureOn: "success" }] : [];
}

/** The files of the step that one upload takes: matching its paths, not its ignore-paths, within its depth. */
export function filesOf(all: readonly string[], upload: ArtifactUpload): string[] {
  return all.filter(
    (f) => upload.paths.some((g) => matchGlob(g, f)) && !upload.ignorePaths.some((g) => matchGlob(g, f)) && (upload.depth === undefined || f.split("/").length <= upload.depth),
  );
}

/**
 * Counts the bytes of a stream on their way to the server: past `maxBytes` it fails with OverCapError (the server
 * counts too; this says why in the runner's own words and stops sending at once). `over()` tells whether it did.
 */
export function capped(body: Readable, maxBytes: number, message: string): { stream: Readable; over(): boolean } {
  let size = 0;
  let over = false;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) {
        over = true;
        done(new OverCapError(message));
      } else done(null, chunk);
    },
  });
  body.once("error", (err) => counter.destroy(err));
  counter.once("close", () => body.destroy());
  return { stream: body.pipe(counter), over: () => over };
}

export interface ArtifactIo {
  api: RunnerProtocol;
  lease: LeaseRef;
  job: JobSandbox;
  say(line: string): Promise<void>;
}

/**
 * After a step ran: packs each of its uploads whose `capture-on` matches how it ended (as the step's user, links
 * as links) and streams it to the server. Returns null, or — when its artifacts went past the cap per step — the
 * reason the step fails.
 */
export async function uploadArtifacts(io: ArtifactIo, step: StepPlan, stepDir: string, passed: boolean, maxBytes: number | undefined): Promise<string | null> {
  const uploads = uploadsOf(step).filter((u) => u.captureOn === "always" || (u.captureOn === "success") === passed);
  if (uploads.length === 0) return null;
  const all = await listFiles(stepDir);
  let used = 0;
  for (const upload of uploads) {
    const files = filesOf(all, upload);
    if (files.length === 0) {
      await io.say(`artifact "${upload.name}": no file matches ${upload.paths.join(", ")}; nothing uploaded`);
      continue;
    }
    const cap = maxBytes === undefined ? Number.MAX_SAFE_INTEGER : maxBytes - used;
    const overCap = `the artifacts of this step are larger than ${sizeText(maxBytes ?? 0)}, the most a step may keep (the service's PIPELINES_ARTIFACT_MAX_BYTES)`;
    const body = capped(io.job.packOut(stepDir, files), cap, overCap);
    try {
      const { size } = await io.api.uploadArtifact(io.lease, step.index, { name: upload.name, type: upload.type === "shared" ? "shared" : "scoped" }, body.stream);
      used += size;
      const kept = upload.type === "shared" ? "for later steps" : "with this step only (scoped)";
      await io.say(`artifact "${upload.name}" uploaded: ${files.length} file${files.length === 1 ? "" : "s"}, ${sizeText(size)}, kept ${kept}`);
    } catch (err) {
      if (body.over()) return overCap;
      if (err instanceof OverCapError) return err.message;
      throw err;
    }
  }
  return null;
}

/** Whether a step gets `artifact`: shared, made by a step before it (not beside it in a parallel group), and named in `download` when that is a list. */
export function downloadable(artifact: ArtifactRef, step: StepPlan, steps: readonly StepPlan[], buildId: number): boolean {
  if (artifact.type !== "shared" || step.downloadArtifacts === false) return false;
  if (Array.isArray(step.downloadArtifacts) && !step.downloadArtifacts.includes(artifact.name)) return false;
  // A redeploy's artifacts come from its original build, whose steps all ran before it.
  if (artifact.buildId !== buildId) return true;
  if (artifact.stepIndex >= step.index) return false;
  const group = step.parallelGroup;
  return group === undefined || steps[artifact.stepIndex]?.parallelGroup !== group;
}

/**
 * Before a step runs: downloads the artifacts it gets from the server and unpacks them into its work tree, as the
 * step's user. Wherever the earlier steps ran (another runner, before a manual step or a lost runner), they come
 * from the server. Returns how many it restored.
 */
export async function downloadArtifacts(io: ArtifactIo, step: StepPlan, steps: readonly StepPlan[], buildId: number, stepDir: string): Promise<number> {
  if (step.downloadArtifacts === false) return 0;
  const wanted = (await io.api.listArtifacts(io.lease)).filter((a) => downloadable(a, step, steps, buildId));
  for (const artifact of wanted) {
    await io.job.unpackIn(stepDir, await io.api.downloadArtifact(io.lease, artifact.id));
    await io.say(`artifact "${artifact.name}" of step ${artifact.stepIndex + 1} restored (${sizeText(artifact.size)})`);
  }
  return wanted.length;
}
