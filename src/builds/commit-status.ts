import { createHash } from "node:crypto";
import type { Transaction } from "sequelize";
import type { Build, Models } from "../db/models";
import type { CommitStatusState } from "../db/models/status-outbox";

/** `pipelines-<application>-<pipeline hash>`: at most 40 characters, the same for every build of that pipeline. */
export function statusKey(applicationId: number, pipelineKey: string): string {
  return `pipelines-${applicationId}-${createHash("sha256").update(pipelineKey).digest("hex").slice(0, 16)}`;
}

/** Queues the commit status that reports `build`'s state, in the caller's transaction (the outbox pattern). */
export async function queueCommitStatus(
  models: Models,
  build: Build,
  repository: string,
  url: string,
  state: CommitStatusState,
  description: string,
  tx: Transaction,
): Promise<void> {
  await models.StatusOutbox.create(
    {
      tenantId: build.tenantId,
      buildId: build.id,
      repository,
      commit: build.commit,
      key: statusKey(build.applicationId, build.pipelineKey),
      state,
      name: `Pipelines #${build.number} (${build.pipelineName})`.slice(0, 255),
      description: description.slice(0, 1024),
      url,
      refname: build.refType === "pull-request" ? null : build.refName,
      status: "pending",
      nextAttemptAt: new Date(),
    },
    { transaction: tx },
  );
}
