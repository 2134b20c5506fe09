import { randomUUID } from "node:crypto";
import type { Application, Build, Tenant } from "../db/models";
import { FINAL_BUILD_STATES } from "../db/models/build";
import type { Trigger } from "../pipelines";
import { manualBuildKey } from "./build-key";
import { createBuild } from "./create-build";
import type { EngineContext } from "./engine-context";

export type RerunBuildResult =
  | { outcome: "built"; build: Build }
  /** The build has not finished: it cannot be run again yet. */
  | { outcome: "unfinished"; reason: string }
  /** The file at the commit no longer selects a pipeline (e.g. the build was made from a different selection rule). */
  | { outcome: "no-pipeline"; reason: string };

const CUSTOM_KEY_PREFIX = "custom/";

/** How the original build's pipeline was chosen: the same rule at the same commit selects the same pipeline. */
export function originalSelection(build: Build): Trigger {
  if (build.pipelineKey.startsWith(CUSTOM_KEY_PREFIX)) return { kind: "custom", name: build.pipelineKey.slice(CUSTOM_KEY_PREFIX.length) };
  switch (build.refType) {
    case "tag":
      return { kind: "tag", tag: build.refName };
    case "pull-request":
      return { kind: "pull-request", sourceBranch: build.refName, destinationBranch: build.destinationBranch ?? "" };
    default:
      return { kind: "branch", branch: build.refName };
  }
}

/**
 * Runs a finished build again: a new build of the same commit, ref and pipeline (with the same custom variables),
 * trigger "rerun", `rerunOf` the original, and a key of its own so that every rerun is a new build.
 *
 * @throws ForgeUnavailableError when Bitbucket cannot answer now (the pipeline file is read again).
 */
export async function rerunBuild(ctx: EngineContext, tenant: Tenant, app: Application, original: Build, startedBy: string | null = null): Promise<RerunBuildResult> {
  if (!FINAL_BUILD_STATES.includes(original.state)) {
    return { outcome: "unfinished", reason: `build #${original.number} is ${original.state}: stop it or let it finish before running it again` };
  }
  const result = await createBuild(ctx, tenant, app, {
    trigger: "rerun",
    refType: original.refType,
    refName: original.refName,
    commit: original.commit,
    pullRequestId: original.pullRequestId ?? undefined,
    destinationBranch: original.destinationBranch ?? undefined,
    selectBy: originalSelection(original),
    buildKey: manualBuildKey(app.id, randomUUID()),
    variables: original.variables ? (JSON.parse(original.variables) as Record<string, string>) : undefined,
    rerunOf: original.id,
    commitMessage: original.commitMessage,
    commitAuthor: original.commitAuthor,
    startedBy,
  });
  if (result.outcome === "no-pipeline") return result;
  return { outcome: "built", build: result.build };
}
