/**
 * How much of a pipeline file the service reads. A pipeline file is written by whoever can push to a repository,
 * so each limit bounds what one file can cost; the largest real files we know of are far inside them
 * (about 19 KB, 1,600 nodes and 10 levels; see ../shared/fixtures/pipelines). Within these limits the costliest
 * file we could craft takes about a second to refuse on a small machine, well inside the time budget
 * (`worker/file-checker.ts`), which is only the last line of defence.
 */
export interface PipelineFileLimits {
  /** The largest file, in bytes of UTF-8. */
  maxBytes: number;
  /** The deepest nesting of mappings and lists, counted with aliases expanded. */
  maxDepth: number;
  /**
   * The most YAML nodes (mappings, lists, keys and values) once every alias is expanded, i.e. counting an alias as
   * all the nodes it stands for. This is what bounds an "alias bomb": a small file whose aliases multiply.
   */
  maxNodes: number;
}

export const DEFAULT_LIMITS: Readonly<PipelineFileLimits> = {
  maxBytes: 128 * 1024,
  maxDepth: 64,
  maxNodes: 20_000,
};

/** Formats a count for messages: `20,000`. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}
