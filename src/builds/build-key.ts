/**
 * The key that makes a build unique within a tenant: the same push processed twice (a redelivered webhook, a
 * processor that crashed after creating the build) finds the build it made the first time instead of a second.
 */
export function pushBuildKey(applicationId: number, refType: "branch" | "tag", refName: string, commit: string): string {
  return `${applicationId}|push|${refType}:${refName}|${commit}`;
}

export function pullRequestBuildKey(applicationId: number, pullRequestId: number, commit: string, destinationBranch: string): string {
  return `${applicationId}|pr:${pullRequestId}|${destinationBranch}|${commit}`;
}

/** Builds started by a person are all distinct: the key carries a random id. */
export function manualBuildKey(applicationId: number, id: string): string {
  return `${applicationId}|manual|${id}`;
}
