/** Bitbucket Cloud's OAuth scopes and which ones include which (docs/SCOPES.md). */

const INCLUDES: Record<string, string[]> = {
  "repository:write": ["repository"],
  pullrequest: ["repository"],
  "pullrequest:write": ["pullrequest", "repository:write", "repository"],
  "issue:write": ["issue"],
  "snippet:write": ["snippet"],
  "team:write": ["team"],
  "account:write": ["account"],
  "project:write": ["project"],
};

/** Every scope the granted ones amount to. */
export function effectiveScopes(granted: readonly string[]): Set<string> {
  const out = new Set<string>();
  const visit = (s: string): void => {
    if (out.has(s)) return;
    out.add(s);
    for (const inc of INCLUDES[s] ?? []) visit(inc);
  };
  granted.forEach(visit);
  return out;
}

/** The required scopes the granted ones do not cover. */
export function missingScopes(granted: readonly string[], required: readonly string[]): string[] {
  const eff = effectiveScopes(granted);
  return required.filter((s) => !eff.has(s));
}

/** The read scope a webhook subscription to this event needs. */
export function scopeForEvent(event: string): string | null {
  if (event.startsWith("repo:")) return "repository";
  if (event.startsWith("pullrequest:")) return "pullrequest";
  if (event.startsWith("issue:")) return "issue";
  return null;
}
