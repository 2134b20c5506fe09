import { PIPELINES_SCOPES, scopeInfo } from "./catalogue";
import { effectiveScopes } from "./effective-scopes";

export interface MissingScope {
  scope: string;
  /** The feature that breaks without it. */
  feature: string;
}

/**
 * Compares what Bitbucket granted with what Pipelines requires: each required scope must be in the effective set
 * of the granted ones (a granted `pullrequest:write` covers a required `repository:write`).
 */
export function missingScopes(granted: Iterable<string>, required: readonly string[] = PIPELINES_SCOPES): MissingScope[] {
  const have = new Set(effectiveScopes(granted));
  return required
    .filter((scope) => !have.has(scope))
    .map((scope) => ({ scope, feature: scopeInfo(scope)?.why ?? "unknown feature" }));
}
