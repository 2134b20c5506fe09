import { createHash } from "node:crypto";

/**
 * Bitbucket-style identifiers (`{uuid}`, braces included) for what a step token talks about. Where Bitbucket gave
 * us its own uuid (the workspace of a Cloud installation, a Cloud repository) that one is used, so a trust policy
 * can be written with the uuids Bitbucket shows; everything else (builds, steps, deployment environments, Server
 * repositories) gets a name-based uuid (RFC 4122 version 5) derived from our own ids: stable (the same environment of
 * the same repository always has the same uuid, so a policy can name it) and never the same for two things.
 */
const NAMESPACE = "5b0c7d3e-2f4a-5e61-9b8d-7c1a3e5f9d20";

/** RFC 4122 version 5 (SHA-1, name-based) uuid of `name` in our namespace, in braces. */
export function nameUuid(name: string): string {
  const ns = Buffer.from(NAMESPACE.replace(/-/g, ""), "hex");
  const hash = createHash("sha1").update(ns).update(name, "utf8").digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `{${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}}`;
}

const BRACED_UUID = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/i;

/** `{…}` as Bitbucket writes uuids, or null when `value` is not a uuid. */
function braced(value: string | null | undefined): string | null {
  if (!value) return null;
  const v = value.startsWith("{") ? value : `{${value}}`;
  return BRACED_UUID.test(v) ? v.toLowerCase() : null;
}

/** The workspace: Bitbucket's uuid for a Cloud installation or connection; ours for a Bitbucket Server connection. */
export function workspaceUuid(tenant: { id: number; principalUuid: string | null }): string {
  return braced(tenant.principalUuid) ?? nameUuid(`tenant:${tenant.id}`);
}

/** The default `aud` of a workspace's tokens, as Bitbucket forms it: `ari:cloud:bitbucket::workspace/<uuid without braces>`. */
export function workspaceAudience(tenant: { id: number; principalUuid: string | null }): string {
  return `ari:cloud:bitbucket::workspace/${workspaceUuid(tenant).slice(1, -1)}`;
}

/** The repository: Bitbucket Cloud's uuid when we know it; else ours. */
export function repositoryUuid(app: { id: number; repositoryUuid: string | null }): string {
  return braced(app.repositoryUuid) ?? nameUuid(`application:${app.id}`);
}

/** The pipeline (one build): also what the step sees as BITBUCKET_PIPELINE_UUID. */
export function pipelineUuid(buildId: number): string {
  return nameUuid(`build:${buildId}`);
}

/** One step of a build (by its 0-based index in the plan). */
export function stepUuid(buildId: number, stepIndex: number): string {
  return nameUuid(`build:${buildId}:step:${stepIndex}`);
}

/** A deployment environment of a repository, by the name a step deploys to (`deployment: production`). */
export function deploymentEnvironmentUuid(applicationId: number, environment: string): string {
  return nameUuid(`application:${applicationId}:environment:${environment}`);
}
