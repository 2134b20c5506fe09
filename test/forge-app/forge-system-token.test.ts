import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startBitbucketCloud, type BitbucketCloud, type RecordedCall } from "../standin/cloud";
import { startForgeStandin, type ForgeInstall, type ForgeStandin } from "../standin/forge";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches, eventually, stepLog } from "../support/build-world";

const APP_ID = `ari:cloud:ecosystem::app/${randomUUID()}`;
/** Long enough for the test to expire the first tokens and deliver a new one while the step runs. */
const LONG_PIPELINE = `pipelines:
  default:
    - step:
        name: Long
        script:
          - echo started
          - sleep 6
          - echo done
`;

function pushEvent(inst: ForgeInstall, repo: { uuid: string; slug: string }, commit: string, ref = "main"): Record<string, unknown> {
  return {
    actor: { type: "user", accountId: "557058:dev", uuid: `{${randomUUID()}}` },
    repository: { uuid: repo.uuid, slug: repo.slug },
    workspace: { uuid: inst.workspaceUuid },
    push: { ref, mainbranch: true, after: commit, created: false, closed: false, forced: false, truncated: false, commits: [] },
    eventType: "avi:bitbucket:push:repository",
    timestamp: new Date().toISOString(),
  };
}

/**
 * Forge's system tokens last two to four hours and cannot be refreshed: a build that outlives the token it started
 * with must post its last status with the newest token a later Forge call brought (an event, the hourly tick, a page).
 */
describe("the Forge door's system token during a long build", function () {
  this.timeout(120_000);
  let bb: BitbucketCloud;
  let forge: ForgeStandin;
  let server: TestServer;
  let inst: ForgeInstall;
  let appId: number;
  const repo = { uuid: "", slug: "long" };

  before(async () => {
    bb = await startBitbucketCloud();
    forge = await startForgeStandin({ cloud: bb, appId: APP_ID, remoteBaseUrl: () => server.url });
    server = await startTestServer({ PIPELINES_FORGE_APP_ID: APP_ID, PIPELINES_FORGE_JWKS_URL: forge.jwksUrl, PIPELINES_BITBUCKET_URL: bb.siteUrl });
    await bb.createRepository("acme-long", "long");
    await bb.createRepository("acme-long", "elsewhere");
    repo.uuid = bb.repositoryUuid("acme-long", "long");
    inst = await forge.install("acme-long");
    const created = await forge.invokeRemote(inst, { path: "/forge/ui/api/applications", method: "POST", body: { repository: "acme-long/long" } }, { repositoryUuid: repo.uuid });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    appId = (created.body as { id: number }).id;
  });
  after(async () => {
    await server?.stop();
    await forge?.stop();
    await bb?.stop();
  });

  const later: [string, () => Promise<void>][] = [
    [
      "the hourly tick",
      async () => {
        assert.equal(await forge.tick(inst), 200);
      },
    ],
    [
      "a page of the app",
      async () => {
        assert.equal((await forge.invokeRemote(inst, { path: "/forge/ui/pages/panel", method: "GET" }, { repositoryUuid: repo.uuid })).status, 200);
      },
    ],
    [
      "an event (of another repository)",
      async () => {
        const other = { uuid: bb.repositoryUuid("acme-long", "elsewhere"), slug: "elsewhere" };
        const commit = await bb.commit("acme-long", "elsewhere", { branch: "main", files: { "x.txt": randomUUID() }, message: "unrelated" });
        assert.deepEqual(await forge.sendEvent(inst, pushEvent(inst, other, commit.hash)), [202]);
      },
    ],
  ];

  for (const [via, deliver] of later) {
    it(`the last status goes out with the token ${via} brought after the build started; the first token is refused by then`, async () => {
      const commit = await bb.commit("acme-long", "long", { branch: "main", files: { "bitbucket-pipelines.yml": LONG_PIPELINE, "n.txt": randomUUID() }, message: `long ${via}` });
      assert.deepEqual(await forge.sendEvent(inst, pushEvent(inst, repo, commit.hash)), [202]);
      const build = await buildReaches(server, appId, commit.hash, ["RUNNING"], 60_000);
      // Cloned (with the token of the event that started it) and running its script.
      await eventually("the long step's script running", async () => /^started$/m.test(await stepLog(server, build.id, 0)) || undefined, 30_000);
      const statusPosts = (state: string) => bb.calls.filter((c) => c.method === "POST" && c.path.endsWith(`/commit/${commit.hash}/statuses/build`) && (c.body as { state?: string } | undefined)?.state === state);
      await eventually("the INPROGRESS status", async () => statusPosts("INPROGRESS").some((c) => c.status >= 200 && c.status < 300) || undefined, 20_000);

      // Every token Forge gave so far expires (Bitbucket now answers 401 to it); then a later Forge call brings a new one.
      const started = forge.systemTokensSent.length;
      bb.expireTokens();
      await deliver();
      const fresh = forge.systemTokensSent.slice(started);
      assert.ok(fresh.length >= 1, "the later call carried a system token");
      const newest = fresh.reduce((a, b) => (b.expiresAt > a.expiresAt ? b : a));

      assert.equal((await buildReaches(server, appId, commit.hash, ["SUCCESSFUL", "FAILED"], 60_000)).state, "SUCCESSFUL");
      await eventually("the SUCCESSFUL status", async () => statusPosts("SUCCESSFUL").some((c) => c.status >= 200 && c.status < 300) || undefined, 20_000);
      const bearer = (c: RecordedCall) => String(c.headers.authorization ?? "");
      const finals = statusPosts("SUCCESSFUL");
      assert.deepEqual(
        finals.map((c) => [c.status, bearer(c)]),
        finals.map(() => [finals[0].status, `Bearer ${newest.token}`]),
        "the last status: posted once, with the newest token, never tried with an expired one",
      );
      assert.ok(finals[0].status >= 200 && finals[0].status < 300);
      const firstInProgress = statusPosts("INPROGRESS")[0];
      assert.notEqual(bearer(firstInProgress), `Bearer ${newest.token}`, "the build started with an older token");
      assert.equal(bb.statuses("acme-long", "long", commit.hash)[0].state, "SUCCESSFUL");
    });
  }
});
