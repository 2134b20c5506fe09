const SKIP_CI = /\[(?:skip ci|ci skip)\]/i;

/**
 * Why a commit must not be built because its message asks so, or null when it does not. Bitbucket Pipelines'
 * markers are `[skip ci]` and `[ci skip]`, in any case, anywhere in the message (subject or body). The reason quotes
 * the first marker as written, e.g. `commit message contains "[skip ci]"`.
 */
export function skipCiReason(message: string | null | undefined): string | null {
  if (typeof message !== "string") return null;
  const found = SKIP_CI.exec(message);
  return found ? `commit message contains "${found[0]}"` : null;
}
