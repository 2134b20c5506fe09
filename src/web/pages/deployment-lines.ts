import type { Application, Models } from "../../db/models";
import { environmentsJson } from "../../deployments/deployment-json";
import { listEnvironments } from "../../deployments/environments";
import { lozenge } from "./build-view";

export interface DeploymentLine extends ReturnType<typeof lozenge> {
  environment: string;
  buildId: number;
  buildNumber: number;
  commitShort: string;
}

/** For the repository panel: each environment with its current deployment, one line each (none when nothing is deployed). */
export async function deploymentLines(models: Models, app: Application): Promise<{ environment: string; deployed: DeploymentLine | null }[]> {
  const envs = await environmentsJson(models, await listEnvironments(models, app.id));
  return envs.map((e) => ({
    environment: e.name,
    deployed: e.current
      ? { environment: e.name, buildId: e.current.buildId, buildNumber: e.current.buildNumber, commitShort: e.current.commit.slice(0, 12), ...lozenge(e.current.state) }
      : null,
  }));
}
