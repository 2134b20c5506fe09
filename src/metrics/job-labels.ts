import type { Plan } from "../pipelines/types";

/** The label name of jobs whose step asks for no particular runner (`runs-on` absent or empty). */
export const DEFAULT_LABEL = "default";

/** One label value for a set of runner labels: sorted and joined with commas (`gpu,linux`), or `default`. */
export function labelKey(labels: readonly string[] | null | undefined): string {
  const clean = [...new Set((labels ?? []).map((l) => String(l).trim()).filter(Boolean))].sort();
  return clean.length > 0 ? clean.join(",") : DEFAULT_LABEL;
}

/**
 * A job's labels as stored on its row, when the jobs table has a labels column (a JSON array, or comma-separated
 * text); undefined when it has none or the value cannot be read, so the caller falls back to the plan.
 */
export function storedLabels(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (text.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) ? parsed.map(String) : undefined;
    } catch {
      return undefined;
    }
  }
  return text.split(",");
}

/** The label key of each step of a build's plan (its `runs-on`), by step index. */
export function planLabelKeys(planJson: string | null): string[] {
  if (!planJson) return [];
  try {
    const plan = JSON.parse(planJson) as Partial<Plan> | null;
    return (plan?.steps ?? []).map((s) => labelKey(Array.isArray(s?.runsOn) ? s.runsOn : []));
  } catch {
    return [];
  }
}
