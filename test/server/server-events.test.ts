import assert from "node:assert/strict";
import { startBitbucketServer, type BitbucketServerStandin } from "../standin/server";
import { startTestServer, type TestServer } from "../support/test-server";
import { buildReaches, eventually, stepLog } from "../support/build-world";
import { addServerConnection } from "../../src/forges/server/server-connections";
import { enableServerAutoBuild } from "../../src/forges/server/server-webhooks";
import { serverForge } from "../../src/forges/server/server-forge";
import { ForgeUnavailableError } from "../../src/forges/forge";
import { tenantSshKey } from "../../src/tenants/ssh-key-store";
import { listDecisions } from "../../src/web/api/decisions-get";
import { decideEvent } from "../../src/intake/decide-event";
import type { Application, Decision, Tenant } from "../../src/db/models";

const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo "branch $BITBUCKET_BRANCH at $BITBUCKET_COMMIT"
  tags:
    'v*':
      - step:
          name: Release
          script:
            - echo "tag $BITBUCKET_TAG at $BITBUCKET_COMMIT"
            - cat release.txt
  pull-requests:
    '**':
      - step:
          name: PR
          script:
            - echo "pr $BITBUCKET_PR_ID at $BITBUCKET_COMMIT"
`;
const REPO = "REL/app";
const TAGS_PATH = "/rest/api/1.0/projects/REL/repos/app/tags/";

/**
 * Bitbucket Server events a CI user meets, end to end through the Server stand-in (real git, real sshd, real HTTP):
 * an annotated tag push builds the tagged commit, a pull request from a tag is not built as a branch, and editing a
 * pull request's title does not build its commit a second time. Every event leaves a decision saying why.
 */
describe("Bitbucket Server events: annotated tags, pull requests from tags, title edits", function () {
  this.timeout(90_000);
  let bbs: BitbucketServerStandin;
  let server: TestServer;
  let tenant: Tenant;
  let app: Application;

  before(async () => {
    bbs = await startBitbucketServer();
    bbs.users.set("ci", { password: "ci-password" });
    await bbs.createRepository(REPO);
    server = await startTestServer();
    const models = server.storage.models;
    const sshd = bbs.sshd!;
    tenant = (await addServerConnection(models, { host: bbs.url, username: "ci", secret: "ci-password", sshPort: sshd.port, sshUser: sshd.user })).tenant;
    sshd.authorize((await tenantSshKey(models, tenant)).publicKey);
    await bbs.commit(REPO, { "bitbucket-pipelines.yml": PIPELINE, "release.txt": "first\n" }, "main", "Add the pipeline");
    const { applicationId } = await enableServerAutoBuild(models, tenant, REPO, server.url);
    app = (await models.Application.findByPk(applicationId))!;
  });
  after(async () => {
    await server?.stop();
    await bbs?.stop();
  });

  /** The decisions of the delivery Server sent with this X-Request-Id, once the processor has settled it. */
  const decisionsOf = (deliveryId: string): Promise<Decision[]> =>
    eventually(`decisions of ${deliveryId}`, async () => {
      const d = await server.storage.models.Delivery.findOne({ where: { tenantId: tenant.id, deliveryId } });
      if (!d || d.status === "pending") return undefined;
      return server.storage.models.Decision.findAll({ where: { deliveryId: d.id }, order: [["id", "ASC"]] });
    });
  const onlyDelivery = (deliveries: { status: number; deliveryId: string }[]) => {
    assert.deepEqual(deliveries.map((d) => d.status), [202]);
    return deliveries[0].deliveryId;
  };
  const tagCalls = () => bbs.calls.filter((c) => c.method === "GET" && c.path.startsWith(TAGS_PATH));

  it("an annotated tag push builds the tagged commit (not the tag object), checked out over SSH, its status on that commit", async () => {
    const c = await bbs.commit(REPO, { "release.txt": "release one\n" }, "main", "Prepare release 1.0");
    const before = tagCalls().length;
    const { tag, deliveries } = await bbs.tagAndNotify(REPO, "v1.0", { at: c.hash, message: "Version 1.0" });
    assert.notEqual(tag.object, c.hash, "an annotated tag: the ref holds a tag object");
    assert.equal(tag.commit, c.hash);

    const [decision] = await decisionsOf(onlyDelivery(deliveries));
    assert.equal(decision.outcome, "built", decision.reason);
    assert.equal(decision.commit, c.hash);
    assert.equal(decision.ref, "tag:v1.0");
    const build = await buildReaches(server, app.id, c.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(build.id, decision.buildId);
    assert.deepEqual([build.refType, build.refName, build.commit, build.pipelineName], ["tag", "v1.0", c.hash, "tags: v*"]);
    const log = await stepLog(server, build.id, 0);
    assert.equal(build.state, "SUCCESSFUL", log);
    assert.match(log, new RegExp(`tag v1\\.0 at ${c.hash}`));
    assert.match(log, /release one/);
    assert.equal(await server.storage.models.Build.count({ where: { applicationId: app.id, commit: tag.object } }), 0);

    // Resolved through Server's tag resource (annotated: `hash` is the tag object, `latestCommit` the commit).
    assert.deepEqual(tagCalls().slice(before).map((x) => [x.path, x.status]), [[`${TAGS_PATH}v1.0`, 200]]);
    // The pipeline file was read at the commit, and the statuses went to the commit: none to the tag object.
    assert.ok(bbs.calls.some((x) => x.path.endsWith("/raw/bitbucket-pipelines.yml") && x.query === `at=${c.hash}`));
    await eventually("a SUCCESSFUL status on the tagged commit", async () => bbs.statusesOf(c.hash).at(-1)?.body.state === "SUCCESSFUL");
    assert.deepEqual(bbs.statusesOf(tag.object), []);
  });

  it("[skip ci] in the tagged commit's message skips the annotated tag's build, and the decision names the commit", async () => {
    const c = await bbs.commit(REPO, { "release.txt": "quiet\n" }, "main", "Bump the version\n\n[skip ci]");
    const { tag, deliveries } = await bbs.tagAndNotify(REPO, "v1.1", { at: c.hash, message: "Version 1.1, built from a commit that asks to be skipped" });
    const [decision] = await decisionsOf(onlyDelivery(deliveries));
    assert.deepEqual([decision.outcome, decision.reason, decision.commit], ["skipped", 'commit message contains "[skip ci]"', c.hash]);
    assert.equal(await server.storage.models.Build.count({ where: { applicationId: app.id, commit: [c.hash, tag.object] } }), 0);
  });

  it("a lightweight tag keeps building its commit: from toCommit when sent, through the tag resource when not", async () => {
    const c = await bbs.commit(REPO, { "release.txt": "light\n" }, "main", "Lightweight release");
    const before = tagCalls().length;
    const { tag, deliveries } = await bbs.tagAndNotify(REPO, "v2.0", { at: c.hash });
    assert.equal(tag.object, c.hash, "a lightweight tag holds the commit");
    const [decision] = await decisionsOf(onlyDelivery(deliveries));
    assert.deepEqual([decision.outcome, decision.commit], ["built", c.hash]);
    assert.equal(tagCalls().length, before, "toCommit is toHash: the server was not asked");
    const build = await buildReaches(server, app.id, c.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(build.state, "SUCCESSFUL", await stepLog(server, build.id, 0));

    // A push of several refs has no toCommit: the lightweight tag is resolved like an annotated one.
    const d = await bbs.commit(REPO, { "release.txt": "several\n" }, "main", "Several refs");
    const light = await bbs.tag(REPO, "v2.1", { at: d.hash });
    const annotated = await bbs.tag(REPO, "v2.2", { at: d.hash, message: "Version 2.2" });
    const body = bbs.refsChangedBody(REPO, [
      { type: "TAG", name: "v2.1", from: null, to: light.object },
      { type: "TAG", name: "v2.2", from: null, to: annotated.object },
    ]);
    const decisions = await decisionsOf(onlyDelivery(await bbs.deliver(REPO, "repo:refs_changed", JSON.stringify(body))));
    assert.deepEqual(decisions.map((x) => [x.ref, x.outcome, x.commit]), [["tag:v2.1", "built", d.hash], ["tag:v2.2", "built", d.hash]]);
    const builds = await server.storage.models.Build.findAll({ where: { applicationId: app.id, commit: d.hash }, order: [["id", "ASC"]] });
    assert.deepEqual(builds.map((b) => b.refName), ["v2.1", "v2.2"]);
  });

  it("a tag moved or deleted before its push is processed builds nothing, and says so", async () => {
    const a = await bbs.commit(REPO, { "release.txt": "a\n" }, "main", "A");
    const first = await bbs.tag(REPO, "v3.0", { at: a.hash, message: "first" });
    const b = await bbs.commit(REPO, { "release.txt": "b\n" }, "main", "B");
    await bbs.tag(REPO, "v3.0", { at: b.hash, message: "moved" });
    // The delivery of the first push arrives after the tag was moved.
    const stale = bbs.refsChangedBody(REPO, [{ type: "TAG", name: "v3.0", from: null, to: first.object }]);
    const [moved] = await decisionsOf(onlyDelivery(await bbs.deliver(REPO, "repo:refs_changed", JSON.stringify(stale))));
    assert.equal(moved.outcome, "ignored");
    assert.equal(moved.reason, `tag "v3.0" no longer points at ${first.object.slice(0, 12)}: it was moved or deleted after this push, so there is nothing of it to build`);
    const gone = bbs.refsChangedBody(REPO, [{ type: "TAG", name: "never-made", from: null, to: first.object }]);
    const [missing] = await decisionsOf(onlyDelivery(await bbs.deliver(REPO, "repo:refs_changed", JSON.stringify(gone))));
    assert.equal(missing.outcome, "ignored");
    assert.match(missing.reason, /^tag "never-made" no longer points at/);
    assert.equal(await server.storage.models.Build.count({ where: { applicationId: app.id, commit: a.hash } }), 0);
  });

  it("when Server cannot answer the tag lookup, the delivery waits and is tried again, then builds", async () => {
    const c = await bbs.commit(REPO, { "release.txt": "retry\n" }, "main", "Retry");
    bbs.failNext("GET", /\/tags\/v4\.0$/, 503);
    const { deliveries } = await bbs.tagAndNotify(REPO, "v4.0", { at: c.hash, message: "Version 4.0" });
    const [decision] = await decisionsOf(onlyDelivery(deliveries));
    assert.deepEqual([decision.outcome, decision.commit], ["built", c.hash]);
    assert.deepEqual(tagCalls().filter((x) => x.path.endsWith("/v4.0")).map((x) => x.status), [503, 200]);
  });

  it("the forge resolves tags with slashes, and a server error is a ForgeUnavailableError (retry later)", async () => {
    const forge = serverForge(server.storage.models);
    const c = await bbs.commit(REPO, { "release.txt": "slash\n" }, "main", "Release with a path\n\nbody line");
    const t = await bbs.tag(REPO, "release/5.0", { at: c.hash, message: "Version 5.0" });
    assert.deepEqual(await forge.resolveTag!(tenant, REPO, "release/5.0", t.object), { commit: c.hash, message: "Release with a path\n\nbody line" });
    assert.ok(bbs.calls.some((x) => x.path === `${TAGS_PATH}release/5.0` && x.status === 200));
    assert.deepEqual(await forge.resolveTag!(tenant, REPO, "release/5.0", c.hash), { commit: c.hash, message: "Release with a path\n\nbody line" }, "the commit itself is what the tag holds too");
    assert.equal(await forge.resolveTag!(tenant, REPO, "release/5.0", "1".repeat(40)), null);
    bbs.failNext("GET", /\/tags\//, 500);
    await assert.rejects(forge.resolveTag!(tenant, REPO, "release/5.0", t.object), (e: Error) => e instanceof ForgeUnavailableError && /HTTP 500/.test(e.message));
  });

  it("a pull request from a tag is not built as a branch; the decision says why and is listed with the application", async () => {
    const c = await bbs.commit(REPO, { "release.txt": "hotfix\n" }, "main", "Hotfix");
    await bbs.tag(REPO, "v6.0", { at: c.hash, message: "Version 6.0" });
    const pr = { id: 11, title: "Merge the v6.0 hotfix back", from: { ref: "refs/tags/v6.0", commit: c.hash }, to: { branch: "develop", commit: c.hash } };
    const [opened] = await decisionsOf(onlyDelivery(await bbs.notifyPullRequest(REPO, "pr:opened", pr)));
    assert.equal(opened.outcome, "ignored");
    assert.equal(opened.ref, "pull-request:11");
    assert.equal(opened.commit, c.hash);
    assert.match(opened.reason, /^pull request #11: its source is tag "v6\.0", not a branch: pull-request pipelines run for source branches only, so it is not built/);
    assert.equal(await server.storage.models.Build.count({ where: { applicationId: app.id, pullRequestId: 11 } }), 0);
    // "Why did / didn't this run" of the application shows it.
    const { values } = await listDecisions(server.storage.models, app, undefined, 50);
    assert.ok(values.some((v) => v.ref === "pull-request:11" && v.outcome === "ignored" && v.reason === opened.reason));
  });

  it("a pr:modified that changes only the title builds nothing more: one build, and a decision naming it", async () => {
    const models = server.storage.models;
    const feature = await bbs.commit(REPO, { "feature.txt": "x\n" }, "feature/title", "Feature work");
    const pr = { id: 12, title: "Feature", description: "first words", from: { ref: "refs/heads/feature/title", commit: feature.hash }, to: { branch: "main", commit: feature.parents[0] } };
    const [opened] = await decisionsOf(onlyDelivery(await bbs.notifyPullRequest(REPO, "pr:opened", pr)));
    assert.equal(opened.outcome, "built", opened.reason);
    const first = await buildReaches(server, app.id, feature.hash, ["SUCCESSFUL", "FAILED"], 60_000);
    assert.equal(first.pullRequestId, 12);

    const renamed = { ...pr, title: "Feature: a better title", description: "better words" };
    const [modified] = await decisionsOf(onlyDelivery(await bbs.notifyPullRequest(REPO, "pr:modified", renamed, { title: pr.title, description: pr.description })));
    assert.equal(modified.outcome, "already-built");
    assert.equal(modified.buildId, first.id);
    assert.equal(modified.commit, feature.hash);
    assert.equal(
      modified.reason,
      `pull request #12 at ${feature.hash.slice(0, 12)} into "main" was already built by build #${first.number} (pull-requests: **): the source commit and the destination are unchanged (an edit of the title or description, or the same event delivered again), nothing new to build`,
    );
    assert.equal(await models.Build.count({ where: { applicationId: app.id, pullRequestId: 12 } }), 1);
    // The opening delivery decided again (a processor that crashed before storing its decisions) finds its own build.
    const [event] = serverForge(models).parseDelivery("pr:opened", JSON.stringify(bbs.pullRequestBody("pr:opened", REPO, pr))).events;
    const again = await decideEvent(server.engine.ctx, tenant, event, opened.deliveryId);
    assert.deepEqual([again.outcome, again.buildId], ["built", first.id]);

    // A new source commit does build (the dedupe is by commit and destination, not by pull request).
    const next = await bbs.commit(REPO, { "feature.txt": "y\n" }, "feature/title", "More work");
    const [updated] = await decisionsOf(onlyDelivery(await bbs.notifyPullRequest(REPO, "pr:from_ref_updated", { ...renamed, from: { ...renamed.from, commit: next.hash } })));
    assert.equal(updated.outcome, "built", updated.reason);
    assert.equal(await models.Build.count({ where: { applicationId: app.id, pullRequestId: 12 } }), 2);
  });
});
