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

/** The labels step `index` needs: its `runs-on`, or — in a parallel group, whose steps run side by side on one runner — the group's. */
export function stepLabels(plan: Plan | null, index: number): string[] {
  const steps = plan?.steps ?? [];
  const step = steps[index];
  if (!step) return [];
  const unit = step.parallelGroup === undefined ? [step] : steps.filter((s) => s.parallelGroup === step.parallelGroup);
  return normaliseLabels(unit.flatMap((s) => s.runsOn ?? []));
}

/**
 * The labels a job needs: those of its first step (its parallel group's, when it starts one). Null when it needs
 * none (any runner may take it). The JSON list is what `jobs.runs_on` holds. A job's runner goes on with the steps
 * after it as long as they need no label beyond these (see `needsAnotherRunner`); Bitbucket schedules each step on
 * a runner of its own labels, and so do we.
 */
export function jobRunsOn(plan: Plan | null, startStep: number): string | null {
  const needed = stepLabels(plan, startStep);
  return needed.length === 0 ? null : JSON.stringify(needed);
}

/**
 * Whether step `index` needs a label its job's runner may not have (one outside the job's `runs_on`, which that
 * runner had all of): the job then ends before it, and a new job from that step waits for a runner that has them.
 */
export function needsAnotherRunner(jobRunsOnJson: string | null, plan: Plan | null, index: number): boolean {
  const has = parseRunsOn(jobRunsOnJson);
  return stepLabels(plan, index).some((l) => !has.includes(l));
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
  let plan: Plan | null;
  try {
    plan = JSON.parse(planJson ?? "null") as Plan | null;
  } catch {
    plan = null;
  }
  return jobRunsOn(plan, startStep);
}
