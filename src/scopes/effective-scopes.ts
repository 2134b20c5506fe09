import { scopeInfo } from "./catalogue";

/** The closure of a scope list under the implication rules (repository:write → repository, …), sorted. */
export function effectiveScopes(scopes: Iterable<string>): string[] {
  const out = new Set<string>();
  const visit = (s: string) => {
    if (out.has(s)) return;
    out.add(s);
    for (const implied of scopeInfo(s)?.implies ?? []) visit(implied);
  };
  for (const s of scopes) visit(s.trim());
  out.delete("");
  return [...out].sort();
}

/** Parses an `X-OAuth-Scopes` header ("repository:write, webhook" — commas and/or spaces). */
export function parseScopeHeader(header: string | null | undefined): string[] {
  return (header ?? "").split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}
