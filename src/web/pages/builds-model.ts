import type { Request } from "express";
import { Op } from "sequelize";
import type { Build, BuildState, Tenant } from "../../db/models";
import { badRequest } from "../../http/http-error";
import { BUILD_STATES, listBuilds, parseBuildListQuery, type BuildListQuery } from "../api/builds-list-get";
import { listDecisions } from "../api/decisions-get";
import { buildChart, type BuildChart } from "./build-chart";
import { buildDetailView, buildView, formatDuration, formatTime, relativeTime, testsView, type BuildDetailView, type BuildView } from "./build-view";
import { buildExtras } from "./build-extras";
import { runnerNotes, type RunnerNotes } from "./log-lines";
import { badgeUrl } from "../badge/badge-url";
import { badgeBuild } from "../badge/badge-build";
import { knownMainBranch } from "./main-branch";
import type { PageDeps } from "./page-deps";
import { bitbucketLinks, repositoryApplication } from "./repository-application";

/** The regions of the builds page; the page's script asks for one or a few of them to refresh. */
export type BuildsRegion = "list" | "chart" | "build" | "decisions" | "badge";
export const BUILDS_REGIONS: readonly BuildsRegion[] = ["list", "chart", "build", "decisions", "badge"];

const PAGE_SIZE = 25;
const CHART_BUILDS = 50;
const DECISIONS_PAGE = 10;
const NOTES_BYTES = 16 * 1024;

/** What the builds page is asked for: filters and cursor of the list, a build to show, a page of decisions. */
export interface BuildsQuery {
  list: BuildListQuery;
  /** Raw cursor of the list (passed back in links). */
  cursor: string | null;
  build: string | null;
  decisionsCursor: string | null;
  regions: Set<BuildsRegion>;
}

function oneString(raw: unknown, name: string): string | null {
  if (raw === undefined || raw === "") return null;
  if (typeof raw !== "string") throw badRequest(`${name} must be given once`);
  return raw;
}

/** Reads the page's query: `branch`, `state`, `cursor`, `build`, `decisions` (a cursor), `region` (fragments only). */
export function parseBuildsQuery(query: Request["query"], fragment: boolean): BuildsQuery {
  const list = parseBuildListQuery({ branch: query.branch, state: query.state, cursor: query.cursor }, PAGE_SIZE);
  const build = oneString(query.build, "build");
  const region = fragment ? oneString(query.region, "region") : null;
  let regions: Set<BuildsRegion>;
  if (region === null) regions = new Set(BUILDS_REGIONS.filter((r) => r !== "build" || build !== null));
  else {
    const asked = region.split(",");
    const unknown = asked.find((r) => !BUILDS_REGIONS.includes(r as BuildsRegion));
    if (unknown !== undefined) throw badRequest(`region must be some of ${BUILDS_REGIONS.join(", ")}`);
    regions = new Set(asked as BuildsRegion[]);
  }
  return { list, cursor: oneString(query.cursor, "cursor"), build, decisionsCursor: oneString(query.decisions, "decisions"), regions };
}

export interface DecisionView {
  receivedAt: string;
  receivedText: string;
  receivedRelative: string;
  event: string;
  ref: string | null;
  commitShort: string | null;
  outcome: string;
  reason: string;
  buildId: number | null;
  buildUrl: string | null;
  deliveryId: string | null;
}

export interface BuildsApplicationView {
  id: number;
  filters: { branch: string; state: string; active: boolean };
  states: { value: string; label: string; selected: boolean }[];
  list?: { rows: BuildView[]; next: string | null; first: boolean; empty: boolean };
  chart?: BuildChart;
  badge?: { branch: string; imageUrl: string; markdown: string };
  decisions?: { rows: DecisionView[]; next: string | null; empty: boolean };
  build?: BuildDetailView;
  buildMissing?: string;
}

export interface BuildsModel {
  repository: string;
  buildsUrl: string | null;
  app: BuildsApplicationView | null;
}

/**
 * The builds page: its list (keyset pages through the API's query, filterable by branch and state), a chart of the
 * last 50 builds under the same filters, a build with its steps when one is asked for, "why did / didn't this run"
 * (the decisions), and the status badge. Only the regions asked for are read.
 */
export async function buildsModel(deps: PageDeps, tenant: Tenant, repo: { fullName: string; uuid: string | null }, q: BuildsQuery): Promise<BuildsModel> {
  const { models } = deps.ctx;
  const app = await repositoryApplication(models, tenant, repo);
  const repository = app?.repository ?? repo.fullName;
  if (!app) return { repository, buildsUrl: null, app: null };
  const forge = deps.ctx.forgeFor(tenant);
  const links = bitbucketLinks(forge, tenant, app.repository, deps.baseUrl);
  const web = forge.webLinks(tenant, app.repository);
  const now = Date.now();
  const views = async (rows: readonly Build[]): Promise<BuildView[]> => {
    const extras = await buildExtras(models, rows, now);
    return rows.map((b) => buildView(b, app.repository, links.build(b), web, extras.get(b.id), now));
  };
  const { branch, state } = q.list;
  const out: BuildsApplicationView = {
    id: app.id,
    filters: { branch: branch ?? "", state: state ?? "", active: branch !== undefined || state !== undefined },
    states: BUILD_STATES.map((s: BuildState) => ({ value: s, label: s.toLowerCase(), selected: s === state })),
  };
  const work: Promise<void>[] = [];
  if (q.regions.has("list")) {
    work.push(
      listBuilds(models, app.id, q.list).then(async ({ rows, next }) => {
        out.list = { rows: await views(rows), next, first: q.cursor === null, empty: rows.length === 0 };
      }),
    );
  }
  if (q.regions.has("chart")) {
    work.push(
      listBuilds(models, app.id, { ...q.list, cursor: null, limit: CHART_BUILDS }).then(async ({ rows }) => {
        out.chart = buildChart(await views(rows), formatDuration);
      }),
    );
  }
  if (q.regions.has("decisions")) {
    work.push(
      listDecisions(models, app, q.decisionsCursor ?? undefined, DECISIONS_PAGE).then(({ values, next }) => {
        out.decisions = {
          rows: values.map((d) => ({
            receivedAt: new Date(d.receivedAt).toISOString(),
            receivedText: formatTime(new Date(d.receivedAt)),
            receivedRelative: relativeTime(new Date(d.receivedAt), now),
            event: d.event,
            ref: d.ref,
            commitShort: d.commit ? d.commit.slice(0, 12) : null,
            outcome: d.outcome,
            reason: d.reason,
            buildId: d.buildId,
            buildUrl: d.buildId ? links.build({ id: d.buildId, number: 0 }) : null,
            deliveryId: d.deliveryId,
          })),
          next,
          empty: values.length === 0,
        };
      }),
    );
  }
  if (q.regions.has("build") && q.build !== null) {
    work.push(
      (async () => {
        const id = /^\d{1,15}$/.test(q.build ?? "") ? Number(q.build) : 0;
        const build = id > 0 ? await models.Build.findOne({ where: { id, tenantId: tenant.id, applicationId: app.id } }) : null;
        if (!build) {
          out.buildMissing = `There is no build ${q.build ?? ""} of ${app.repository}.`;
          return;
        }
        const steps = await models.Step.findAll({ where: { buildId: build.id }, order: [["index", "ASC"]] });
        const ids = steps.map((s) => s.id);
        const [extras, tops, reports, artifacts] = await Promise.all([
          buildExtras(models, [build], now),
          // The runner's lines at the top of each log (what the header shows once): the first 16 KiB is plenty.
          models.LogChunk.findAll({ where: { stepId: { [Op.in]: ids }, offset: { [Op.lt]: NOTES_BYTES } }, order: [["offset", "ASC"]], attributes: ["stepId", "offset", "data"] }),
          models.StepTestReport.findAll({ where: { stepId: { [Op.in]: ids } } }),
          models.Artifact.findAll({ where: { buildId: build.id, tenantId: tenant.id }, order: [["stepIndex", "ASC"], ["name", "ASC"]] }),
        ]);
        const notes = new Map<number, RunnerNotes>();
        for (const s of steps) {
          const text = Buffer.concat(tops.filter((c) => c.stepId === s.id).map((c) => c.data)).toString("utf8");
          if (text) notes.set(s.index, runnerNotes(text));
        }
        const stepOf = new Map(steps.map((s) => [s.id, s]));
        const tests = testsView(
          reports.flatMap((r) => {
            const s = stepOf.get(r.stepId);
            return s ? [{ stepIndex: s.index, stepName: s.name, files: r.files, passed: r.passed, failed: r.failed, skipped: r.skipped, unreadable: r.unreadable, failures: r.failures }] : [];
          }),
        );
        out.build = buildDetailView(build, app.repository, links.build(build), { steps, links: web, extras: extras.get(build.id) ?? { waitMs: 0, rerunOfNumber: null }, notes, tests, artifacts }, now);
      })(),
    );
  }
  if (q.regions.has("badge")) {
    const badgeBranch = branch ?? knownMainBranch(app, tenant, deps.log) ?? "main";
    const imageUrl = badgeUrl(deps.baseUrl, app.badgeToken, badgeBranch);
    work.push(
      badgeBuild(models, app.id, badgeBranch).then(({ build, running }) => {
        // The page's own copy names what it shows: a build that finishes makes it a new address, fetched at once.
        const shown = `${imageUrl}?v=${build ? `${build.id}-${build.state}` : running ? "running" : "none"}`;
        out.badge = { branch: badgeBranch, imageUrl: shown, markdown: `[![Pipelines: ${badgeBranch}](${imageUrl})](${links.buildsPage()})` };
      }),
    );
  }
  await Promise.all(work);
  return { repository, buildsUrl: links.buildsPage(), app: out };
}
