import type { Plan } from "../pipelines";

/** A runner label: lower-case letters, digits, `.`, `_` and `-`, at most 64 (Bitbucket's `self.hosted`, `linux`, `gpu.large`). */
export const RUNNER_LABEL = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Every runner has this label (as on Bitbucket, where it marks a self-hosted runner). */
export const SELF_HOSTED = "self.hosted";

/** Labels compared as Bitbucket shows them: trimmed, lower-case, each once, sorted. */
export function normaliseLabels(labels: readonly string[]): string[] {
  return [...new Set(labels.map((l) => l.trim().toLowerCase()).filter((l) => l.length > 0))].sort();
}

/** The label of this machine's operating system, as Bitbucket's runners name it: `linux`, `macos` or `windows`. */
export function osLabel(platform: NodeJS.Platform = process.platform): string {
  if (platform === "darwin") return "macos";
  if (platform === "win32") return "windows";
  return platform === "linux" ? "linux" : platform;
}

/** A runner's labels: those it was given, plus `self.hosted` and its OS, which every runner has. */
export function runnerLabels(given: readonly string[], platform: NodeJS.Platform = process.platform): string[] {
  return normaliseLabels([...given, SELF_HOSTED, osLabel(platform)]);
}

/**
 * The labels a job needs: the union of `runs-on` over the steps it runs — from its first step to the end of the
 * pipeline or the next manual step (where the job ends and a later job takes over). A job runs all its steps on
 * the runner that claimed it (one checkout, parallel steps side by side), so that runner must have the labels of
 * every one of them. Null when none asks for any (any runner may take it). The JSON list is what `jobs.runs_on` holds.
 */
export function jobRunsOn(plan: Plan | null, startStep: number): string | null {
  const steps = plan?.steps ?? [];
  const labels: string[] = [];
  for (let i = startStep; i < steps.length; i++) {
    if (i > startStep && steps[i].manual) break;
    labels.push(...(steps[i].runsOn ?? []));
  }
  const needed = normaliseLabels(labels);
  return needed.length === 0 ? null : JSON.stringify(needed);
}

/** `jobs.runs_on` read back: the labels a job needs (empty when none). */
export function parseRunsOn(raw: string | null): string[] {
  if (!raw) return [];
  try {
    const list: unknown = JSON.parse(raw);
    return Array.isArray(list) ? list.filter((l): l is string => typeof l === "string") : [];
  } catch {
    return [];
  }
}

/** The build plan's JSON (as builds store it) → the labels its job from `startStep` needs. */
export function jobRunsOnOf(planJson: string | null, startStep: number): string | null {
  let plan: Plan | null = null;
  try {
    plan = JSON.parse(planJson ?? "null") as Plan | null;
  } catch {
    plan = null;
  }
  return jobRunsOn(plan, startStep);
}
