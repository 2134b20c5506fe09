import { deploymentEnvironmentUuid, pipelineUuid, repositoryUuid, stepUuid, workspaceAudience, workspaceUuid } from "./step-identity";

/** What a step token is about. */
export interface StepTokenSubject {
  tenant: { id: number; principalUuid: string | null };
  app: { id: number; repositoryUuid: string | null };
  build: { id: number; refType: "branch" | "tag" | "pull-request"; refName: string };
  step: { index: number; deployment?: string; maxTimeMinutes: number; audiences: string[] };
}

/** The claims of a Bitbucket Pipelines step token, as Bitbucket names and forms them. */
export interface StepTokenClaims {
  iss: string;
  /** `{repositoryUuid}:{stepUuid}`, or `{repositoryUuid}:{deploymentEnvironmentUuid}:{stepUuid}` for a deployment. */
  sub: string;
  /** `ari:cloud:bitbucket::workspace/<workspace uuid without braces>`, or the step's audiences. */
  aud: string | string[];
  iat: number;
  exp: number;
  workspaceUuid: string;
  repositoryUuid: string;
  pipelineUuid: string;
  stepUuid: string;
  /** The branch built (a pull request's source branch); absent for a tag. */
  branchName?: string;
  deploymentEnvironmentUuid?: string;
  deploymentEnvironment?: string;
}

/** Every claim a step token may carry, for the discovery document. */
export const STEP_TOKEN_CLAIMS = [
  "iss",
  "sub",
  "aud",
  "iat",
  "exp",
  "workspaceUuid",
  "repositoryUuid",
  "pipelineUuid",
  "stepUuid",
  "branchName",
  "deploymentEnvironmentUuid",
  "deploymentEnvironment",
];

/**
 * The claims of the token a step gets at `now` from issuer `iss`. It expires when the step's max-time is over, and at
 * most `maxLifetimeMs` after it was issued.
 */
export function stepTokenClaims(iss: string, s: StepTokenSubject, now: Date, maxLifetimeMs: number): StepTokenClaims {
  const workspace = workspaceUuid(s.tenant);
  const repository = repositoryUuid(s.app);
  const step = stepUuid(s.build.id, s.step.index);
  const iat = Math.floor(now.getTime() / 1000);
  const lifetimeSeconds = Math.floor(Math.min(maxLifetimeMs, Math.max(1, s.step.maxTimeMinutes) * 60_000) / 1000);
  const audiences = [...new Set(s.step.audiences.filter((a) => a.length > 0))];
  const claims: StepTokenClaims = {
    iss,
    sub: `${repository}:${step}`,
    aud: audiences.length === 0 ? workspaceAudience(s.tenant) : audiences.length === 1 ? audiences[0] : audiences,
    iat,
    exp: iat + lifetimeSeconds,
    workspaceUuid: workspace,
    repositoryUuid: repository,
    pipelineUuid: pipelineUuid(s.build.id),
    stepUuid: step,
  };
  if (s.build.refType !== "tag") claims.branchName = s.build.refName;
  if (s.step.deployment) {
    const environment = deploymentEnvironmentUuid(s.app.id, s.step.deployment);
    claims.sub = `${repository}:${environment}:${step}`;
    claims.deploymentEnvironmentUuid = environment;
    claims.deploymentEnvironment = s.step.deployment;
  }
  return claims;
}
