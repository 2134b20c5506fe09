/**
 * `condition.changesets`: whether a step (or stage) runs, given the files a push changed.
 */
import { matchGlob } from "./glob";
import type { StepCondition } from "./types";

/**
 * True when a step with `condition` should run for a push that changed `changedFiles` (paths relative to
 * the repository root, `/`-separated).
 *
 * - No condition: the step runs.
 * - Unknown changes (`null`/`undefined`, e.g. the first push of a new branch, or a pipeline started by
 *   hand): the step runs — we do not skip work we cannot prove unnecessary.
 * - Otherwise the step runs when at least one changed file matches an `includePaths` glob (any file, when
 *   there are none) and matches no `excludePaths` glob. So with only `excludePaths`, the step is skipped
 *   exactly when every changed file is excluded, which is Bitbucket's documented meaning; and a push that
 *   changed no file at all runs no conditional step.
 *
 * Globs are `matchGlob`'s: `src/*` is the files directly in `src`, `src/**` everything below it.
 */
export function changesetMatches(condition: StepCondition | undefined, changedFiles: readonly string[] | null | undefined): boolean {
  if (!condition) return true;
  if (changedFiles === null || changedFiles === undefined) return true;
  const { includePaths, excludePaths } = condition;
  return changedFiles.some(
    (file) =>
      (includePaths.length === 0 || includePaths.some((glob) => matchGlob(glob, file))) &&
      !excludePaths.some((glob) => matchGlob(glob, file)),
  );
}
