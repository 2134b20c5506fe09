/**
 * The Bitbucket Cloud scopes Pipelines knows, with the implication rules of shared/docs/SCOPES.md.
 * `implies` lists what a scope includes directly; effectiveScopes() takes the closure.
 */
export interface ScopeInfo {
  scope: string;
  area: string;
  access: string;
  /** What the user is asked to approve. */
  approval: string;
  /** Why Pipelines needs it (undefined for scopes Pipelines does not ask for). */
  why?: string;
  implies: string[];
}

export const SCOPES: readonly ScopeInfo[] = [
  { scope: "account", area: "Account", access: "Read", approval: "Read your account information", implies: [] },
  { scope: "account:write", area: "Account", access: "Write", approval: "Read and write to your account information", why: "To add the Pipelines SSH key to the user's account", implies: ["account"] },
  { scope: "team", area: "Team membership", access: "Read", approval: "Read your team membership information", why: "To list the workspaces/teams a user can create applications in", implies: [] },
  { scope: "team:write", area: "Team membership", access: "Write", approval: "Read and write to your team membership information", implies: ["team"] },
  { scope: "repository", area: "Repositories", access: "Read", approval: "Read your repositories", implies: [] },
  { scope: "repository:write", area: "Repositories", access: "Write", approval: "Read and write to your repositories", why: "To clone over SSH/HTTPS and read the pipeline file", implies: ["repository"] },
  { scope: "repository:admin", area: "Repositories", access: "Admin", approval: "Administer your repositories", implies: [] },
  { scope: "pullrequest", area: "Pull requests", access: "Read", approval: "Read your repositories and their pull requests", implies: ["repository"] },
  { scope: "pullrequest:write", area: "Pull requests", access: "Write", approval: "Read and write your repositories and their pull requests", why: "Pull-request builds and statuses on pull requests", implies: ["pullrequest", "repository:write"] },
  { scope: "issue", area: "Issues", access: "Read", approval: "Read your repositories' issues", why: "Reserved for later integrations", implies: [] },
  { scope: "issue:write", area: "Issues", access: "Write", approval: "Read and write to your repositories' issues", implies: ["issue"] },
  { scope: "snippet", area: "Snippets", access: "Read", approval: "Read your snippets", why: "Reserved for later integrations", implies: [] },
  { scope: "snippet:write", area: "Snippets", access: "Write", approval: "Read and write to your snippets", implies: ["snippet"] },
  { scope: "wiki", area: "Wikis", access: "Read and write", approval: "Read and write to your repositories' wikis", why: "Reserved for later integrations", implies: [] },
  { scope: "webhook", area: "Webhooks", access: "Read and write", approval: "Read and write to your repositories' webhooks", why: "To create and delete the push/pull-request webhooks", implies: [] },
];

/** Exactly what Pipelines asks for, in the descriptor and from the OAuth consumer. */
export const PIPELINES_SCOPES: readonly string[] = ["account:write", "team", "repository:write", "pullrequest:write", "issue", "snippet", "wiki", "webhook"];

const byScope = new Map(SCOPES.map((s) => [s.scope, s]));

export function scopeInfo(scope: string): ScopeInfo | undefined {
  return byScope.get(scope);
}

export function isKnownScope(scope: string): boolean {
  return byScope.has(scope);
}
