import { randomUUID } from "node:crypto";
import type { Application, Build, Tenant } from "../db/models";
import { DEFAULT_PIPELINE_FILE, type CustomVariable } from "../pipelines";
import { manualBuildKey } from "./build-key";
import { createBuild } from "./create-build";
import type { EngineContext } from "./engine-context";

/**
 * A build a person asks for. At least one of `branch` and `commit`: a branch alone builds its head; a commit pins
 * the build to it (and then `branch` only names the ref). Without `customPipeline`, the branch's pipeline runs, so
 * a branch is needed. The caller has checked the shapes (a safe ref name, hex commit, string variables).
 */
export interface StartBuildRequest {
  branch?: string;
  commit?: string;
  /** The name of a `custom:` pipeline. */
  customPipeline?: string;
  /** Values for the custom pipeline's declared variables. */
  variables?: Record<string, string>;
  /** Who asked (a name for the build's page), when known. */
  startedBy?: string | null;
}

export type StartBuildResult =
  | { outcome: "built"; build: Build }
  /** The request does not fit the pipeline (unknown variable, value not allowed, variables without a custom pipeline). */
  | { outcome: "invalid"; reason: string }
  /** Bitbucket does not know the branch or commit. */
  | { outcome: "not-found"; reason: string }
  | { outcome: "no-pipeline"; reason: string };

type Checked = { ok: true; values: Record<string, string> } | { ok: false; reason: string };

/**
 * The variables a custom pipeline runs with: every declared one, from the request or else its default (an empty
 * string when it has neither). A name the pipeline does not declare, or a value outside its `allowed-values`, is
 * refused.
 */
export function customPipelineVariables(pipeline: string, declared: readonly CustomVariable[], given: Readonly<Record<string, string>>): Checked {
  const names = new Set(declared.map((v) => v.name));
  for (const name of Object.keys(given)) {
    if (!names.has(name)) {
      const known = declared.length ? `it declares ${declared.map((v) => v.name).join(", ")}` : "it declares no variables";
      return { ok: false, reason: `the custom pipeline "${pipeline}" has no variable ${name} (${known})` };
    }
  }
  const values: Record<string, string> = {};
  for (const v of declared) {
    const value = Object.hasOwn(given, v.name) ? given[v.name] : v.default;
    if (v.allowedValues && (value === undefined || !v.allowedValues.includes(value))) {
      const allowed = v.allowedValues.map((a) => JSON.stringify(a)).join(", ");
      return { ok: false, reason: value === undefined ? `${v.name} needs a value, one of ${allowed}` : `${v.name} may not be ${JSON.stringify(value)}: it must be one of ${allowed}` };
    }
    values[v.name] = value ?? "";
  }
  return { ok: true, values };
}

/**
 * The declared variables of `custom: name` at `commit`, or null when the file cannot say (missing, broken, or no
 * such pipeline): createBuild then records the broken file, or answers that no pipeline matches.
 */
export async function declaredVariables(ctx: EngineContext, tenant: Tenant, app: Application, commit: string, name: string): Promise<CustomVariable[] | null> {
  const text = await ctx.forgeFor(tenant).readFile(tenant, app.repository, commit, DEFAULT_PIPELINE_FILE);
  if (text === null) return null;
  const checked = await ctx.pipelineFiles.check({ text, triggers: [{ kind: "custom", name }] });
  const selected = checked.ok ? checked.selections[0] : null;
  return selected ? (selected.variables ?? []) : null;
}

/**
 * Starts a build by hand ("Run pipeline"): resolves the branch or commit through Bitbucket, checks a custom
 * pipeline's variables against the file at that commit, and makes the build (trigger "manual", a key of its own,
 * so every request is a new build).
 *
 * @throws ForgeUnavailableError when Bitbucket cannot answer now.
 */
export async function startBuild(ctx: EngineContext, tenant: Tenant, app: Application, req: StartBuildRequest): Promise<StartBuildResult> {
  if (!req.customPipeline && req.variables && Object.keys(req.variables).length > 0) {
    return { outcome: "invalid", reason: "variables are given to a custom pipeline only" };
  }
  if (!req.customPipeline && req.branch === undefined) return { outcome: "invalid", reason: "a build without a custom pipeline runs the pipeline of a branch: give the branch" };
  const rev = req.commit ?? req.branch;
  if (rev === undefined) return { outcome: "invalid", reason: "give a branch or a commit" };

  // Bitbucket's commit endpoint takes a branch name as well as a (short) hash.
  const info = await ctx.forgeFor(tenant).describeCommit(tenant, app.repository, rev);
  const commit = info?.commit;
  if (!info || !commit) {
    return { outcome: "not-found", reason: req.commit ? `Bitbucket does not know commit ${req.commit} in ${app.repository}` : `Bitbucket does not know branch "${req.branch}" in ${app.repository}` };
  }

  let variables: Record<string, string> | undefined;
  if (req.customPipeline) {
    const declared = await declaredVariables(ctx, tenant, app, commit, req.customPipeline);
    if (declared) {
      const checked = customPipelineVariables(req.customPipeline, declared, req.variables ?? {});
      if (!checked.ok) return { outcome: "invalid", reason: checked.reason };
      if (Object.keys(checked.values).length > 0) variables = checked.values;
    }
  }

  const result = await createBuild(ctx, tenant, app, {
    trigger: "manual",
    refType: "branch",
    // A commit started without a branch has no ref: its build is on no branch (BITBUCKET_BRANCH is empty).
    refName: req.branch ?? "",
    commit,
    selectBy: req.customPipeline ? { kind: "custom", name: req.customPipeline } : { kind: "branch", branch: req.branch ?? "" },
    buildKey: manualBuildKey(app.id, randomUUID()),
    variables,
    commitMessage: info.message,
    commitAuthor: info.author,
    startedBy: req.startedBy ?? null,
  });
  if (result.outcome === "no-pipeline") return result;
  return { outcome: "built", build: result.build };
}
