import type { PipeItem } from "../../../pipelines";
import { StepRefusedError } from "../executor";
import { STEP_PATHS } from "../sandbox/sandbox-root";

/**
 * The image of a pipe: `atlassian/<name>:<version>` is Docker Hub's `bitbucketpipelines/<name>:<version>` (where
 * Atlassian publishes its pipes), `docker://<image>` is that image. Other pipes are described by a `pipe.yml` in a
 * Bitbucket repository, which this runner does not read.
 */
export function pipeImage(pipe: string): string {
  if (pipe.startsWith("docker://")) return pipe.slice("docker://".length);
  const m = /^atlassian\/([a-z0-9][a-z0-9._-]*):([A-Za-z0-9._-]+)$/.exec(pipe);
  if (m) return `docker.io/bitbucketpipelines/${m[1]}:${m[2]}`;
  throw new StepRefusedError(`the pipe ${pipe} cannot be run: this runner runs Atlassian's pipes (atlassian/<name>:<version>) and images (docker://<image>), not pipes described by a pipe.yml in another repository`);
}

/** `$NAME` and `${NAME}` in `text` replaced by the step's variables (unknown names by nothing), as Bitbucket does. */
export function expandVariables(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_, braced?: string, bare?: string) => env[(braced ?? bare) as string] ?? "");
}

/** The name a pipe's own storage directory uses: its `owner/name`, without the version or `docker://`. */
function pipePath(pipe: string): string {
  return pipe.replace(/^docker:\/\//, "").replace(/:[^/:]*$/, "").replace(/[^A-Za-z0-9._/-]/g, "-");
}

/**
 * What a pipe's container sees: the step's `BITBUCKET_*` variables and CI, the pipe's variables (expanded; a list as
 * NAME_COUNT, NAME_0, NAME_1…), and BITBUCKET_PIPE_STORAGE_DIR / BITBUCKET_PIPE_SHARED_STORAGE_DIR under the clone,
 * where Bitbucket puts them.
 */
export function pipeEnvironment(pipe: PipeItem, env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith("BITBUCKET_") || k === "CI") out[k] = v;
  for (const [name, value] of Object.entries(pipe.variables)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new StepRefusedError(`pipe ${pipe.pipe}: "${name}" is not a variable name`);
    if (Array.isArray(value)) {
      out[`${name}_COUNT`] = String(value.length);
      value.forEach((item, i) => (out[`${name}_${i}`] = expandVariables(item, env)));
    } else out[name] = expandVariables(value, env);
  }
  const shared = `${STEP_PATHS.cloneDir}/.bitbucket/pipelines/generated/pipeline/pipes`;
  out.BITBUCKET_PIPE_SHARED_STORAGE_DIR = shared;
  out.BITBUCKET_PIPE_STORAGE_DIR = `${shared}/${pipePath(pipe.pipe)}`;
  return out;
}
