import type { Application, ApplicationVariable, Build } from "../db/models";
import { revealSecret } from "../db/encrypted-fields";
import { pipelineUuid } from "../oidc/step-identity";

/**
 * The variables every step of a build sees, as Bitbucket Pipelines defines them, plus the application's variables
 * and a custom pipeline's variables. Returns the secrets to mask too (secured variables).
 */
export function stepEnvironment(
  app: Application,
  build: Build,
  variables: ApplicationVariable[],
): { env: Record<string, string>; secrets: string[] } {
  const [workspace, slug] = app.repository.split("/");
  const env: Record<string, string> = {};
  const secrets: string[] = [];
  for (const v of variables) {
    const value = revealSecret(v, "value") ?? "";
    env[v.name] = value;
    if (v.secured) secrets.push(value);
  }
  if (build.variables) Object.assign(env, JSON.parse(build.variables) as Record<string, string>);
  Object.assign(env, {
    CI: "true",
    BITBUCKET_BUILD_NUMBER: String(build.number),
    BITBUCKET_COMMIT: build.commit,
    BITBUCKET_WORKSPACE: workspace,
    BITBUCKET_REPO_OWNER: workspace,
    BITBUCKET_REPO_SLUG: slug,
    BITBUCKET_REPO_FULL_NAME: app.repository,
    // The same uuid the pipelineUuid claim of the build's OIDC tokens carries.
    BITBUCKET_PIPELINE_UUID: pipelineUuid(build.id),
  });
  if (app.repositoryUuid) env.BITBUCKET_REPO_UUID = app.repositoryUuid;
  if (build.refType === "tag") env.BITBUCKET_TAG = build.refName;
  else env.BITBUCKET_BRANCH = build.refName;
  if (build.pullRequestId !== null) {
    env.BITBUCKET_PR_ID = String(build.pullRequestId);
    if (build.destinationBranch) env.BITBUCKET_PR_DESTINATION_BRANCH = build.destinationBranch;
  }
  return { env, secrets };
}
