import { Op } from "sequelize";
import type { Build, Tenant } from "../../db/models";
import { buildExtras } from "./build-extras";
import { listBuilds } from "../api/builds-list-get";
import { buildView, type BuildView } from "./build-view";
import { knownMainBranch } from "./main-branch";
import type { PageDeps } from "./page-deps";
import { bitbucketLinks, repositoryApplication } from "./repository-application";
import { deploymentLines } from "./deployment-lines";

/** Builds looked at to suggest branches in "Build now" (newest first). */
const BRANCH_SUGGESTION_BUILDS = 100;
const BRANCH_SUGGESTIONS = 20;

export interface PanelApplicationView {
  id: number;
  autoBuild: boolean;
  mainBranch: string | null;
  /** The newest build of the main branch. */
  mainBuild: BuildView | null;
  recent: BuildView[];
  /** For the branch picker: the main branch, then the branches built lately. */
  branches: string[];
  defaultBranch: string;
  buildsUrl: string;
  /** Each environment's current deployment, one line each. */
  deployments: Awaited<ReturnType<typeof deploymentLines>>;
}

export interface PanelModel {
  repository: string;
  app: PanelApplicationView | null;
}

/**
 * What the repository panel shows: "Create application" when the repository is not an application; otherwise the
 * auto-build switch, the main branch's newest build, the last five builds and what "Build now" needs. Three
 * indexed queries, nothing asked of Bitbucket.
 */
export async function panelModel(deps: PageDeps, tenant: Tenant, repo: { fullName: string; uuid: string | null }): Promise<PanelModel> {
  const { models } = deps.ctx;
  const app = await repositoryApplication(models, tenant, repo);
  const repository = app?.repository ?? repo.fullName;
  if (!app) return { repository, app: null };
  const forge = deps.ctx.forgeFor(tenant);
  const links = bitbucketLinks(forge, tenant, app.repository, deps.baseUrl);
  const web = forge.webLinks(tenant, app.repository);
  const mainBranch = knownMainBranch(app, tenant, deps.log);
  const [recent, mainRow, lately, deployments] = await Promise.all([
    listBuilds(models, app.id, { cursor: null, limit: 5 }),
    mainBranch
      ? // The branch's own pipeline only: a custom pipeline run on the branch is not its build.
        models.Build.findOne({ where: { applicationId: app.id, refType: "branch", refName: mainBranch, pipelineKey: { [Op.notLike]: "custom/%" } }, order: [["id", "DESC"]], attributes: { exclude: ["plan", "variables"] } })
      : null,
    models.Build.findAll({ where: { applicationId: app.id }, order: [["number", "DESC"]], limit: BRANCH_SUGGESTION_BUILDS, attributes: ["refType", "refName"] }),
    deploymentLines(models, app),
  ]);
  const now = Date.now();
  const extras = await buildExtras(models, [...recent.rows, ...(mainRow ? [mainRow] : [])] as Build[], now);
  const view = (b: Build) => buildView(b, app.repository, links.build(b), web, extras.get(b.id), now);
  const branches = [...new Set([...(mainBranch ? [mainBranch] : []), ...lately.filter((b) => b.refType !== "tag" && b.refName).map((b) => b.refName)])].slice(0, BRANCH_SUGGESTIONS);
  return {
    repository,
    app: {
      id: app.id,
      autoBuild: app.autoBuild,
      mainBranch,
      mainBuild: mainRow ? view(mainRow) : null,
      recent: recent.rows.map(view),
      branches,
      defaultBranch: mainBranch ?? branches[0] ?? "",
      buildsUrl: links.buildsPage(),
      deployments,
    },
  };
}
