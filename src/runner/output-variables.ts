import { lstat, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import type { JobSandbox } from "./executors/executor";
import { MIN_SECRET_LENGTH } from "./mask";

/** The file a step writes `NAME=value` lines to (BITBUCKET_PIPELINES_VARIABLES_PATH), in its /tmp. */
export const OUTPUT_VARIABLES_FILE = ".pipelines-output-variables";
const MAX_BYTES = 64 * 1024;

/**
 * The output variables a finished step passes on to later steps: the `NAME=value` lines of its
 * BITBUCKET_PIPELINES_VARIABLES_PATH file, for the names it declares in `output-variables` only (a later line wins).
 * A value holding a secret (a secured variable, a token) is never passed on: it is dropped and named in `dropped`.
 * The file is copied out of the step's files first, and read only when the copy is a regular file.
 */
export async function collectOutputVariables(
  job: JobSandbox,
  stepTmp: string,
  declared: readonly string[],
  secrets: readonly string[],
): Promise<{ values: Record<string, string>; dropped: string[]; problem: string | null }> {
  const none = { values: {}, dropped: [], problem: null };
  if (declared.length === 0) return none;
  const names = await readdir(stepTmp).catch(() => [] as string[]);
  if (!names.includes(OUTPUT_VARIABLES_FILE)) return none;
  const copy = await mkdtemp(join(os.tmpdir(), "pipelines-outputs-"));
  try {
    await job.copyOut(stepTmp, copy, [OUTPUT_VARIABLES_FILE]);
    const file = join(copy, OUTPUT_VARIABLES_FILE);
    const st = await lstat(file);
    if (!st.isFile()) return { ...none, problem: `${OUTPUT_VARIABLES_FILE} is not a regular file; no output variables are passed on` };
    if (st.size > MAX_BYTES) return { ...none, problem: `the output variables file is larger than ${MAX_BYTES / 1024} KiB; none are passed on` };
    const values: Record<string, string> = {};
    const dropped: string[] = [];
    for (const line of (await readFile(file, "utf8")).split("\n")) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.replace(/\r$/, ""));
      if (!m || !declared.includes(m[1])) continue;
      const [, name, value] = m;
      if (secrets.some((s) => s.length >= MIN_SECRET_LENGTH && value.includes(s))) {
        delete values[name];
        if (!dropped.includes(name)) dropped.push(name);
        continue;
      }
      values[name] = value.slice(0, 4096);
    }
    return { values, dropped, problem: null };
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}
