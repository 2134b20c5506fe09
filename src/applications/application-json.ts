import type { Application } from "../db/models";

/** An application as the JSON API shows it. */
export function applicationJson(app: Application) {
  return {
    id: app.id,
    repository: app.repository,
    repositoryUuid: app.repositoryUuid,
    autoBuild: app.autoBuild,
    autoCancel: app.autoCancel,
    branchFilter: app.branchFilter,
    createdAt: app.createdAt,
  };
}
