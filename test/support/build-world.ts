import request from "supertest";
import { startBitbucketCloud, type BitbucketCloud } from "../standin/cloud";
import { startTestServer, type TestServer } from "./test-server";
import { mintToken } from "./connect-tokens";
import type { Build } from "../../src/db/models";

/** An installed workspace with one repository that is an application. */
export interface World {
  workspace: string;
  slug: string;
  clientKey: string;
  secret: string;
  applicationId: number;
  /** `Authorization` header value with a context token of this workspace. */
  auth(): string;
}

let counter = 0;

/** Installs a fresh workspace into `server` through the stand-in and makes `slug` an application. */
export async function installWorld(bb: BitbucketCloud, server: TestServer, prefix = "ws", slug = "app"): Promise<World> {
  const workspace = `${prefix}${++counter}${process.pid % 1000}`;
  await bb.createRepository(workspace, slug);
  const inst = await bb.install(server.url, { workspace });
  if (inst.status !== 204) throw new Error(`install failed: ${inst.status}`);
  const auth = () => `JWT ${mintToken({ clientKey: inst.clientKey, secret: bb.currentSecret(inst.clientKey) ?? inst.sharedSecret, context: true })}`;
  const res = await request(server.url).post("/api/applications").set("Authorization", auth()).send({ repository: `${workspace}/${slug}` });
  if (res.status !== 201) throw new Error(`create application failed: ${res.status} ${res.text}`);
  return { workspace, slug, clientKey: inst.clientKey, secret: inst.sharedSecret, applicationId: res.body.id as number, auth };
}

/** Polls until `check` returns a value (not undefined/false), or fails after `ms` with `what`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false | null>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false && v !== null) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until a build of `commit` has reached one of `states`. */
export function buildReaches(server: TestServer, applicationId: number, commit: string, states: string[], ms?: number): Promise<Build> {
  return eventually(`a build of ${commit.slice(0, 12)} in ${states.join("/")}`, async () => {
    const b = await server.storage.models.Build.findOne({ where: { applicationId, commit }, order: [["id", "DESC"]] });
    return b && states.includes(b.state) ? b : undefined;
  }, ms);
}

/** The whole stored log of a step, decoded. */
export async function stepLog(server: TestServer, buildId: number, index: number): Promise<string> {
  const step = await server.storage.models.Step.findOne({ where: { buildId, index } });
  if (!step) throw new Error(`build ${buildId} has no step ${index}`);
  const chunks = await server.storage.models.LogChunk.findAll({ where: { stepId: step.id }, order: [["offset", "ASC"]] });
  return Buffer.concat(chunks.map((c) => c.data)).toString("utf8");
}

/**
 * For the enclosing `describe`: a Bitbucket Cloud stand-in and a test server, started before its tests and stopped
 * after them; `use` receives both once they run.
 */
export function withStandinAndServer(use: (bb: BitbucketCloud, server: TestServer) => void): void {
  let bb: BitbucketCloud | undefined;
  let server: TestServer | undefined;
  before(async () => {
    bb = await startBitbucketCloud({ webhookRetryDelayMs: 10 });
    server = await startTestServer();
    use(bb, server);
  });
  after(async () => {
    await server?.stop();
    await bb?.stop();
  });
}
