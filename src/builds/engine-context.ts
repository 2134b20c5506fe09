import type { Models } from "../db/models";
import type { ForgeFor } from "../forges/forge-for";
import type { Logger } from "../log/logger";
import type { OidcIssuer } from "../oidc/oidc-issuer";
import type { PipelineFileCheck } from "../pipelines";
import type { ServerArtifacts } from "./server-artifacts";
import type { StepGate } from "./step-gate";

/** What the build engine's parts share: the database, the forges, the log, and the limits from configuration. */
export interface EngineContext {
  models: Models;
  forgeFor: ForgeFor;
  log: Logger;
  /** Builds that may run at once per tenant (excess builds wait, in order). */
  concurrencyPerTenant: number;
  /** Bytes of log stored per step. */
  logCapBytes: number;
  /** Artifacts and caches on the server (rows and blobs), with their caps and expiry. */
  artifacts: ServerArtifacts;
  /** Signs the OIDC tokens of steps that ask for one (`oidc: true`). */
  oidc: OidcIssuer;
  /** Reads pipeline files (hostile input) off the event loop, within limits and a time budget. */
  pipelineFiles: PipelineFileCheck;
  /** Deployment environments and concurrency groups: what may start, wait or is refused (absent: everything runs). */
  gate?: StepGate;
  /** Called when there is new work for runners (a job queued), or a status to post. */
  notify?: {
    jobQueued?(): void;
    statusQueued?(): void;
    /** A step's log grew or the step ended (wakes live logs in this process). */
    stepChanged?(buildId: number, stepIndex: number): void;
    /** A runner reported a step's end (the step's duration is recorded by the metrics). */
    stepFinished?(buildId: number, stepIndex: number, state: string): void;
    /** A runner claimed a job that waited since `queuedAt` for a runner with `runsOn`. */
    jobClaimed?(runsOn: readonly string[] | undefined, queuedAt: Date): void;
  };
}
