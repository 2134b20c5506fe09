import { Op } from "sequelize";
import type { Application, Build, Deployment, Environment, Tenant } from "../../db/models";
import type { Actor } from "../../deployments/actor";
import { STARTED } from "../../deployments/deployment-json";
import { allowedBranches, environmentKey, listEnvironments } from "../../deployments/environments";
import type { Plan } from "../../pipelines";
import { formatDuration, formatTime, lozenge } from "./build-view";
import type { PageDeps } from "./page-deps";
import { bitbucketLinks, repositoryApplication } from "./repository-application";

/** Deployments shown per environment below the current one. */
const HISTORY = 10;

export interface DeploymentView extends ReturnType<typeof lozenge> {
  id: number;
  buildId: number;
  buildNumber: number;
  buildUrl: string;
  commit: string;
  commitShort: string;
  ref: string;
  /** Who started it by hand, or "the pipeline". */
  by: string;
  at: string;
  atText: string;
  duration: string;
  reason: string | null;
  commitsSincePrevious: number | null;
  /** Redeploy (a rollback) is offered on earlier successful deployments to those allowed. */
  canRedeploy: boolean;
}

export interface EnvironmentColumn {
  name: string;
  type: string;
  restrictions: string;
  adminsOnly: boolean;
  current: DeploymentView | null;
  waiting: DeploymentView[];
  history: DeploymentView[];
  /** The current deployment's build waits to deploy to another environment: Promote to it. */
  promote: { buildId: number; buildNumber: number; to: string } | null;
}

export interface DeploymentsModel {
  repository: string;
  app: { id: number; columns: EnvironmentColumn[]; settingsHint: boolean } | null;
}

/**
 * The Deployments page: one column per environment (in order) with what is deployed there now, what waits for it,
 * its history, and Promote / Redeploy for those allowed — an admins-only environment's buttons only for a person
 * Bitbucket says administers the repository (asked once, through the viewer's credentials, only if needed).
 */
export async function deploymentsModel(deps: PageDeps, tenant: Tenant, repo: { fullName: string; uuid: string | null }, viewerOf: (app: Application) => Actor): Promise<DeploymentsModel> {
  const { models } = deps.ctx;
  const app = await repositoryApplication(models, tenant, repo);
  if (!app) return { repository: repo.fullName, app: null };
  const links = bitbucketLinks(deps.ctx.forgeFor(tenant), tenant, app.repository, deps.baseUrl);
  const envs = await listEnvironments(models, app.id);
  let admin: Promise<boolean> | null = null;
  const isAdmin = () => (admin ??= viewerOf(app).isAdmin().catch(() => false));
  const allowed = async (env: Environment) => !env.adminsOnly || (await isAdmin());

  const rows = await Promise.all(envs.map((e) => models.Deployment.findAll({ where: { environmentId: e.id }, order: [["id", "DESC"]], limit: HISTORY + 20 })));
  const buildIds = [...new Set(rows.flat().map((d) => d.buildId))];
  const builds = buildIds.length ? await models.Build.findAll({ where: { id: { [Op.in]: buildIds } }, attributes: ["id", "number", "state", "plan", "refName"] }) : [];
  const byId = new Map(builds.map((b) => [b.id, b]));
  const now = Date.now();
  const view = (d: Deployment, canRedeploy: boolean): DeploymentView => {
    const b = byId.get(d.buildId);
    const end = d.finishedAt?.getTime() ?? (d.state === "RUNNING" ? now : null);
    return {
      id: d.id,
      buildId: d.buildId,
      buildNumber: b?.number ?? 0,
      buildUrl: links.build({ id: d.buildId, number: b?.number ?? 0 }),
      commit: d.commit,
      commitShort: d.commit.slice(0, 12),
      ref: d.refName,
      by: d.startedBy ?? "the pipeline",
      at: (d.startedAt ?? d.createdAt).toISOString(),
      atText: formatTime(d.startedAt ?? d.createdAt),
      duration: d.startedAt && end !== null ? formatDuration(end - d.startedAt.getTime()) : "",
      reason: d.reason,
      commitsSincePrevious: d.commitsSincePrevious,
      canRedeploy,
      ...lozenge(d.state),
    };
  };

  const columns: EnvironmentColumn[] = [];
  for (const [i, env] of envs.entries()) {
    const list = rows[i];
    const current = list.find((d) => STARTED.includes(d.state)) ?? null;
    const mayDeploy = await allowed(env);
    const branches = allowedBranches(env);
    columns.push({
      name: env.name,
      type: env.type,
      adminsOnly: env.adminsOnly,
      restrictions: [branches.length ? `from ${branches.join(", ")}` : "", env.adminsOnly ? "admins only" : ""].filter(Boolean).join(" · "),
      current: current ? view(current, false) : null,
      waiting: list.filter((d) => d.state === "WAITING").reverse().map((d) => view(d, false)),
      history: list.filter((d) => d !== current && d.state !== "WAITING").slice(0, HISTORY).map((d) => view(d, mayDeploy && d.state === "SUCCESSFUL")),
      promote: current ? await promotion(deps, byId.get(current.buildId), envs, allowed) : null,
    });
  }
  return { repository: app.repository, app: { id: app.id, columns, settingsHint: envs.length === 0 } };
}

/** Where the build waits to deploy next (its waiting manual step's environment), if the viewer may start it. */
async function promotion(deps: PageDeps, build: Pick<Build, "id" | "number" | "state" | "plan"> | undefined, envs: Environment[], allowed: (e: Environment) => Promise<boolean>) {
  if (!build || build.state !== "PAUSED") return null;
  const waiting = await deps.ctx.models.Step.findOne({ where: { buildId: build.id, state: "WAITING" }, attributes: ["index"] });
  const step = waiting ? (JSON.parse(build.plan ?? "null") as Plan | null)?.steps[waiting.index] : undefined;
  const target = step?.deployment ? envs.find((e) => e.nameKey === environmentKey(step.deployment ?? "")) : undefined;
  if (!target || !(await allowed(target))) return null;
  return { buildId: build.id, buildNumber: build.number, to: target.name };
}
