import request from "supertest";
import type { Build, Models } from "../../src/db/models";
import type { BuildAttributes } from "../../src/db/models/build";
import type { TestServer } from "../support/test-server";
import { eventually, type World } from "../support/build-world";

type Method = "get" | "post";

/** A request to the JSON API with `w`'s context token. */
export function api(server: TestServer, w: World, method: Method, path: string) {
  return request(server.url)[method](path).set("Authorization", w.auth());
}

/** Polls GET /api/builds/:id until `check` accepts the body. */
export function buildUntil(server: TestServer, w: World, id: number, what: string, check: (b: BuildBody) => boolean, ms?: number): Promise<BuildBody> {
  return eventually(
    `build ${id}: ${what}`,
    async () => {
      const res = await api(server, w, "get", `/api/builds/${id}`);
      if (res.status !== 200) throw new Error(`GET /api/builds/${id} answered ${res.status} ${res.text}`);
      const body = res.body as BuildBody;
      return check(body) ? body : undefined;
    },
    ms,
  );
}

export const finished = (b: BuildBody) => ["SUCCESSFUL", "FAILED", "STOPPED"].includes(b.state);

export interface StepBody {
  index: number;
  name: string;
  state: string;
  manual: boolean;
  deployment: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  logBytes: number;
}

export interface BuildBody {
  id: number;
  number: number;
  applicationId: number;
  repository: string;
  state: string;
  stateReason: string | null;
  commit: string;
  ref: { type: string; name: string };
  pullRequest: { id: number; destinationBranch: string | null } | null;
  pipeline: string;
  trigger: string;
  rerunOf: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  warnings: string[];
  steps: StepBody[];
}

let keys = 0;

/** Records a build (and its steps) directly, for tests that need many builds or one in a given state without running it. */
export async function insertBuild(models: Models, app: { id: number; tenantId: number }, over: Partial<BuildAttributes> = {}, steps = 1): Promise<Build> {
  const n = ((await models.Build.max("number", { where: { applicationId: app.id } })) as number | null) ?? 0;
  const build = await models.Build.create({
    tenantId: app.tenantId,
    applicationId: app.id,
    number: n + 1,
    buildKey: `test|${app.id}|${++keys}|${Date.now()}`,
    trigger: "push",
    refType: "branch",
    refName: "main",
    commit: "a".repeat(40),
    pipelineName: "default",
    pipelineKey: "default",
    state: "SUCCESSFUL",
    ...over,
  });
  for (let i = 0; i < steps; i++) {
    await models.Step.create({ tenantId: app.tenantId, buildId: build.id, index: i, name: `Step ${i}`, state: build.state === "SUCCESSFUL" ? "SUCCESSFUL" : "PENDING", manual: false });
  }
  return build;
}
